// `node scripts/bench/ab-cpu.mjs <build-a>/main.js <build-b>/main.js <operation...>`: the app CPU per
// request of two builds, measured alternately in short batches on one machine (each build with its own
// DynamoDB Local and the bench:profile fixture), so that a drifting machine load touches both alike.
// Prints each batch and the median per build. Operations as bench:profile's.
//   BENCH_AB_ROUNDS=8      batches per build and operation
//   BENCH_AB_COUNT=1000    requests per batch (after a warm-up of 300)
//   BENCH_AB_ENV_A='{"LIKE_DIRECT_MAX_PER_SECOND":"0"}'   settings of side A's app (JSON) over
//   BENCH_AB_ENV_B=...     bench:profile's environment: one build under two settings, e.g. the like
//                          counted on a like shard (0) against on the post (the bench's 50)
import { readFileSync } from 'node:fs';
import { cleanup, startApp, startEngine } from '../reliability/lib.mjs';
import { ADMIN, CONCURRENCY, drive, fixture, lastCost, operation } from './operations.mjs';
import { peerComparisonEnv } from './peer-env.mjs';
import { cpuPartsOf } from './throughput.mjs';

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 8);
const COUNT = Number(process.env.BENCH_AB_COUNT ?? 1000);

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main() {
  const [mainA, mainB, ...ops] = process.argv.slice(2);
  if (!mainA || !mainB || ops.length === 0) throw new Error('usage: ab-cpu.mjs <a/main.js> <b/main.js> <operation...>');
  const sides = [];
  for (const [label, main] of [
    ['A', mainA],
    ['B', mainB],
  ]) {
    const engine = await startEngine({});
    const settings = JSON.parse(process.env[`BENCH_AB_ENV_${label}`] ?? '{}');
    const app = await startApp(
      {
        ...peerComparisonEnv({ endpoint: engine.endpoint, tableName: 'bench', bcryptCost: 4, admin: ADMIN }),
        ...settings,
      },
      { main },
    );
    sides.push({ label, main, app, data: await fixture(app.base, { ops, logins: 300 + ROUNDS * COUNT }) });
  }
  console.log(
    `A = ${mainA} ${process.env.BENCH_AB_ENV_A ?? ''}, B = ${mainB} ${process.env.BENCH_AB_ENV_B ?? ''}; ${ROUNDS} rounds of ${COUNT} requests at ${CONCURRENCY} callers; load ${loadavg()} at ${new Date().toISOString()}`,
  );
  for (const op of ops) {
    const figures = { A: [], B: [] };
    for (const side of sides) await drive(operation(op, side.app.base, side.data), 300);
    for (let round = 0; round < ROUNDS; round++) {
      // A then B in even rounds, B then A in odd ones.
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const task = operation(op, side.app.base, side.data);
        const before = cpuPartsOf(side.app.child.pid);
        await drive(task, COUNT);
        const after = cpuPartsOf(side.app.child.pid);
        figures[side.label].push(((after.user + after.system - before.user - before.system) * 1000) / COUNT);
      }
    }
    const a = median(figures.A);
    const b = median(figures.B);
    console.log(
      `${op}: A ${a.toFixed(3)} ms, B ${b.toFixed(3)} ms (B/A ${(b / a).toFixed(3)}; the last request: ${lastCost()}); A ${figures.A.map((x) => x.toFixed(2)).join(' ')} | B ${figures.B.map((x) => x.toFixed(2)).join(' ')}; load ${loadavg()}`,
    );
  }
  for (const side of sides) await side.app.stop();
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
