import { jest } from '@jest/globals';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CursorCodec } from '../dynamo/cursor.js';
import { EventIndexKeys } from '../dynamo/keys.js';
import { type DueReadPosition, EventsRepository } from './events.repository.js';

type Item = Record<string, unknown> & { GSI1PK: string; GSI1SK: string };
type Query = {
  ExpressionAttributeValues: Record<string, string>;
  FilterExpression?: string;
  Limit: number;
  ExclusiveStartKey?: Item;
};

const NOW = new Date('2026-05-15T12:00:00.000Z');
const FULL = 'aaaaaaaaaaaaaaaa';
const HEALTHY = 'bbbbbbbbbbbbbbbb';

/**
 * The repository on a client that answers the due Query from items in memory as GSI1 would: in
 * key order, after ExclusiveStartKey, `Limit` items examined, the filter (`NOT (target IN ...)`)
 * applied after the limit, LastEvaluatedKey when the limit stopped it.
 */
function setUp() {
  const items: Item[] = [];
  const examined: number[] = [];
  /** A pending delivery in the old partition (the default), or in its webhook's own (`legacy` false). */
  const add = (dueAt: Date, eventId: string, target: string, legacy = true) =>
    items.push({
      ...EventIndexKeys.due(dueAt.toISOString(), eventId, target),
      ...(legacy ? { GSI1PK: EventIndexKeys.legacyDuePartition } : {}),
      eventId,
      eventType: 'post.published',
      target,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: dueAt.toISOString(),
    });
  /** The table's migration records (`PK=MIGRATION`), for `legacyDueRetired`. */
  const migrations: Record<string, unknown>[] = [];
  const db = {
    send: jest.fn(({ input }: { input: Query }) => {
      if (input.ExpressionAttributeValues[':pk'] === 'MIGRATION') return Promise.resolve({ Items: migrations });
      const values = input.ExpressionAttributeValues;
      const skip = input.FilterExpression ? Object.entries(values).filter(([k]) => k.startsWith(':t')) : [];
      const inRange = items
        .filter((i) => i.GSI1PK === values[':pk'] && (values[':upper'] === undefined || i.GSI1SK < values[':upper']))
        .sort((a, b) => (a.GSI1SK < b.GSI1SK ? -1 : 1))
        .filter((i) => !input.ExclusiveStartKey || i.GSI1SK > input.ExclusiveStartKey.GSI1SK);
      const page = inRange.slice(0, input.Limit);
      examined.push(page.length);
      return Promise.resolve({
        Items: page.filter((i) => !skip.some(([, target]) => i.target === target)),
        ...(inRange.length > input.Limit
          ? { LastEvaluatedKey: { GSI1PK: page.at(-1)!.GSI1PK, GSI1SK: page.at(-1)!.GSI1SK } }
          : {}),
      });
    }),
  };
  const repository = new EventsRepository(
    db as unknown as DynamoDBDocumentClient,
    'table',
    new CursorCodec('a cursor secret long enough to be a key'),
  );
  /** The dispatcher's claim moves a delivery's due time past `now`: it leaves the due range. */
  const claim = (eventIds: string[]) =>
    items.filter((i) => eventIds.includes(i.eventId as string)).forEach((i) => (i.GSI1SK = `9999${i.GSI1SK}`));
  return { repository, add, claim, examined, db, migrations };
}

/** `n` deliveries to the full webhook, due an hour ago one millisecond apart, then one to the healthy one after them. */
function backlog(n: number) {
  const env = setUp();
  const hourAgo = NOW.getTime() - 3600_000;
  for (let i = 0; i < n; i++) env.add(new Date(hourAgo + i), `a${String(i).padStart(5, '0')}`, FULL);
  env.add(new Date(hourAgo + n), 'b', HEALTHY);
  return env;
}

describe('EventsRepository.legacyDueDeliveries (the old partition) past a full webhook', () => {
  it('reaches a healthy webhook behind more than 1,000 held deliveries within ceil(backlog / 1,000) reads (review 20c M1)', async () => {
    const { repository, examined } = backlog(2_500);
    const position: DueReadPosition = {};
    const reads: string[][] = [];
    for (let look = 0; look < 3; look++) {
      reads.push((await repository.legacyDueDeliveries(NOW, 25, [FULL], position)).map((d) => d.eventId));
    }
    expect(reads).toEqual([[], [], ['b']]);
    // The same cost per read: at most 5 pages of 200 items.
    expect(examined.every((n) => n <= 200)).toBe(true);
    expect(examined.length).toBeLessThanOrEqual(15);
  });

  it('starts at the head again once a read reached the end of the partition', async () => {
    const { repository, add } = backlog(1_010);
    const position: DueReadPosition = {};
    await repository.legacyDueDeliveries(NOW, 25, [FULL], position);
    expect((await repository.legacyDueDeliveries(NOW, 25, [FULL], position)).map((d) => d.eventId)).toEqual(['b']);
    expect(position.after).toBeUndefined();
    // A delivery ahead of the whole backlog (due earlier, e.g. a retry) is found by the next read.
    add(new Date(NOW.getTime() - 7200_000), 'early', HEALTHY);
    expect((await repository.legacyDueDeliveries(NOW, 25, [FULL], position)).map((d) => d.eventId)).toEqual(['early']);
  });

  it('reads again from the page that filled the limit, so its items past the limit are not passed over', async () => {
    const { repository, add, claim } = backlog(300);
    for (let i = 0; i < 30; i++) add(new Date(NOW.getTime() - 60_000 + i), `c${String(i).padStart(2, '0')}`, HEALTHY);
    // More of the full webhook's after them: the page that fills the limit is not the partition's last.
    for (let i = 0; i < 300; i++) add(new Date(NOW.getTime() - 30_000 + i), `d${String(i).padStart(3, '0')}`, FULL);
    const position: DueReadPosition = {};
    const first = await repository.legacyDueDeliveries(NOW, 25, [FULL], position);
    expect(first.map((d) => d.eventId)).toEqual([
      'b',
      ...Array.from({ length: 24 }, (_, i) => `c${String(i).padStart(2, '0')}`),
    ]);
    claim(first.map((d) => d.eventId));
    const second = await repository.legacyDueDeliveries(NOW, 25, [FULL], position);
    expect(second.map((d) => d.eventId)).toEqual(['c24', 'c25', 'c26', 'c27', 'c28', 'c29']);
  });

  it('reads from the head without skips, and after a position the clock has gone back before', async () => {
    const { repository, db } = backlog(10);
    const position: DueReadPosition = { after: { GSI1PK: 'WEBHOOKS#DUE', GSI1SK: '2099-01-01T00:00:00.000Z#x#y' } };
    expect((await repository.legacyDueDeliveries(NOW, 25, [FULL], position)).map((d) => d.eventId)).toEqual(['b']);
    expect(db.send.mock.calls[0][0].input.ExclusiveStartKey).toBeUndefined();
    position.after = { GSI1PK: 'WEBHOOKS#DUE', GSI1SK: '2026-05-15T11:00:00.005Z#a00005#' + FULL };
    expect((await repository.legacyDueDeliveries(NOW, 3, [], position)).map((d) => d.eventId)).toEqual([
      'a00000',
      'a00001',
      'a00002',
    ]);
    expect(position.after).toBeUndefined();
  });
});

describe("EventsRepository.dueDeliveries: one webhook's own due partition", () => {
  it("reads only that webhook's partition: due by now, oldest first, a page of `limit`, then on from `after`; says when the first one not due is", async () => {
    const { repository, add, db } = setUp();
    const minuteAgo = NOW.getTime() - 60_000;
    for (let i = 0; i < 6; i++) add(new Date(minuteAgo + i), `h${i}`, HEALTHY, false);
    add(new Date(minuteAgo - 1), 'other', FULL, false);
    add(new Date(minuteAgo - 2), 'old-layout', HEALTHY);
    add(new Date(NOW.getTime() + 1), 'later', HEALTHY, false);
    const first = await repository.dueDeliveries(HEALTHY, NOW, 4);
    expect(first.items.map((d) => d.eventId)).toEqual(['h0', 'h1', 'h2', 'h3']);
    expect(db.send.mock.calls[0][0].input.ExpressionAttributeValues[':pk']).toBe(`WEBHOOKS#DUE#${HEALTHY}`);
    const second = await repository.dueDeliveries(HEALTHY, NOW, 4, first.lastKey);
    // The page reached past `now`: no more due, and when the next one is (the dispatcher waits for it, review 22 W).
    expect(second).toEqual({
      items: [expect.objectContaining({ eventId: 'h4' }), expect.objectContaining({ eventId: 'h5' })],
      next: new Date(NOW.getTime() + 1).toISOString(),
    });
    expect(db.send.mock.calls[1][0].input).toMatchObject({ KeyConditionExpression: 'GSI1PK = :pk', Limit: 4 });
    // A position the clock has gone back before is outside the key condition: from the head.
    const back = await repository.dueDeliveries(HEALTHY, new Date(minuteAgo + 2), 4, first.lastKey);
    expect(back.items.map((d) => d.eventId)).toEqual(['h0', 'h1', 'h2']);
  });

  it('the look at the old partition after 0013: one Query of it with Limit 1, true only when something there is due', async () => {
    const { repository, add, db } = setUp();
    add(new Date(NOW.getTime() - 1), 'new-layout', HEALTHY, false);
    add(new Date(NOW.getTime() + 1), 'later', HEALTHY);
    expect(await repository.legacyDueAny(NOW)).toBe(false);
    add(new Date(NOW.getTime() - 1), 'from-old-build', HEALTHY);
    expect(await repository.legacyDueAny(NOW)).toBe(true);
    for (const [{ input }] of db.send.mock.calls) {
      expect(input).toMatchObject({ Limit: 1, ExpressionAttributeValues: { ':pk': 'WEBHOOKS#DUE' } });
    }
  });

  it('the old partition is retired once migration 0013 is applied, or the table was created at its layout', async () => {
    const { repository, migrations } = setUp();
    migrations.push({ PK: 'MIGRATION', SK: 'BASELINE', version: 12 });
    expect(await repository.legacyDueRetired()).toBe(false);
    migrations.push({ PK: 'MIGRATION', SK: 'VERSION#0013', version: 13, status: 'running' });
    expect(await repository.legacyDueRetired()).toBe(false);
    migrations[1].status = 'applied';
    expect(await repository.legacyDueRetired()).toBe(true);
    migrations.splice(0, 2, { PK: 'MIGRATION', SK: 'BASELINE', version: 13 });
    expect(await repository.legacyDueRetired()).toBe(true);
  });
});
