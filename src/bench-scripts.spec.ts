import { judgeGrowth, type SizeCost } from '../scripts/bench/growth.mjs';
import { PRODUCTION_CACHING } from '../scripts/bench/peer-env.mjs';
import { loadConfig } from './config/app-config.js';

// `npm run bench`'s "grows with the table" flag (scripts/bench/growth.mjs): it fires on growth and
// on nothing else, a declared bound included (issue 15: a flag that fires on a documented bounded
// pattern trains people to ignore it).
describe("the bench's growth flag", () => {
  const read = (rcu: number, extra: Partial<SizeCost> = {}): SizeCost => ({
    calls: 1,
    rcu,
    wcu: 0,
    listed: 20,
    ...extra,
  });
  // The admin user listing: 8 shards of at most a page each, merged (docs/data-model.md).
  const shards = { queries: 8, about: '8 shards x a page of 20 users' };

  it('flags a pattern whose calls grow', () => {
    const bySize = [read(2), read(2, { calls: 2 }), read(2, { calls: 3 })];
    expect(judgeGrowth({ kind: 'read', bySize }).grows).toBe(true);
    const atBound = bySize.map((c) => ({ ...c, atBound: true }));
    expect(judgeGrowth({ kind: 'read', bySize: atBound, bound: shards }).grows).toBe(true);
  });

  it('flags capacity that grows for the same page, and lets one rounding step pass', () => {
    expect(judgeGrowth({ kind: 'read', bySize: [read(2.5), read(3), read(3.5)] }).grows).toBe(true);
    expect(judgeGrowth({ kind: 'read', bySize: [read(2.5), read(3), read(3)] }).grows).toBe(false);
    // A fuller page costs more, and that is not growth.
    expect(judgeGrowth({ kind: 'read', bySize: [read(1, { listed: 3 }), read(2.5), read(2.5)] }).grows).toBe(false);
  });

  it('judges writes by their WCU', () => {
    const write = (wcu: number): SizeCost => ({ calls: 3, rcu: 3, wcu });
    expect(judgeGrowth({ kind: 'write', bySize: [write(6), write(6), write(12)] }).grows).toBe(true);
    expect(judgeGrowth({ kind: 'write', bySize: [{ ...write(6), rcu: 1 }, write(6), write(6)] }).grows).toBe(false);
  });

  it('does not flag a bounded listing filling up to its bound (the admin listing: 5, 5.5, 6 RCU)', () => {
    const bySize = [
      read(5, { calls: 10 }),
      read(5.5, { calls: 10, atBound: true }),
      read(6, { calls: 10, atBound: true }),
    ];
    // Without its bound it would be flagged, as it was before session 21.
    expect(judgeGrowth({ kind: 'read', bySize }).grows).toBe(true);
    const judged = judgeGrowth({ kind: 'read', bySize, bound: shards });
    expect(judged).toEqual({ grows: false, why: expect.stringContaining('bounded: 5.5 -> 6 RCU') });
  });

  it('flags a bounded listing that grows past its bound', () => {
    // Each shard read whole (no Limit): the cost keeps growing once every shard holds a page.
    const bySize = [
      read(5, { calls: 10 }),
      read(12, { calls: 10, atBound: true }),
      read(90, { calls: 10, atBound: true }),
    ];
    const judged = judgeGrowth({ kind: 'read', bySize, bound: shards });
    expect(judged).toEqual({ grows: true, why: expect.stringContaining('past its bound: 12 -> 90 RCU') });
    // One rounding step per shard's Query past the cost at the bound is already too much.
    const justPast = [read(5), read(5.5, { atBound: true }), read(9.5 + 0.5, { atBound: true })];
    expect(judgeGrowth({ kind: 'read', bySize: justPast, bound: shards }).grows).toBe(true);
    const justWithin = [read(5), read(5.5, { atBound: true }), read(9.5, { atBound: true })];
    expect(judgeGrowth({ kind: 'read', bySize: justWithin, bound: shards }).grows).toBe(false);
  });

  it('reports a bound that the sizes never reached without flagging it', () => {
    const judged = judgeGrowth({ kind: 'read', bySize: [read(2), read(4), read(6)], bound: shards });
    expect(judged).toEqual({ grows: false, why: expect.stringContaining('bound not reached') });
  });
});

// `BENCH_PEER_PRODUCTION=1`'s rows are "ours with production's caching": its settings are production's defaults.
describe("bench:peer's production caching", () => {
  it('is what the app caches with under NODE_ENV=production', () => {
    const production = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'kq3V9x_Lm2Rt8ZpYw4Nc7Hb1Jd6Fs0Ge5Ua',
      MAIL_TRANSPORT: 'ses',
      MAIL_FROM: 'Publishing <no-reply@example.com>',
      PUBLIC_URL: 'https://app.example.com',
    });
    expect(PRODUCTION_CACHING).toEqual({
      PUBLIC_CACHE_SECONDS: String(production.publicCacheSeconds),
      VIEW_READ_CACHE_SECONDS: String(production.viewReadCacheSeconds),
    });
    // And not what development (the strict rows) runs with.
    expect(loadConfig({}).publicCacheSeconds).toBe(0);
    expect(loadConfig({}).viewReadCacheSeconds).toBe(0);
  });
});
