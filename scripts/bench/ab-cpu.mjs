// `node scripts/bench/ab-cpu.mjs <build-a>/main.js <build-b>/main.js <operation...>`: the app CPU per
// request of two builds, measured alternately in short batches on one machine (each build with its own
// DynamoDB Local and the bench:profile fixture), so that a drifting machine load touches both alike.
// Prints each batch and the median per build. Operations as bench:profile's.
//   BENCH_AB_ROUNDS=8      batches per build and operation
//   BENCH_AB_COUNT=1000    requests per batch (after a warm-up of 300)
import { readFileSync } from 'node:fs';
import { call, cleanup, register, startApp, startEngine } from '../reliability/lib.mjs';
import { peerComparisonEnv } from './peer-env.mjs';
import { cpuPartsOf } from './throughput.mjs';

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 8);
const COUNT = Number(process.env.BENCH_AB_COUNT ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PASSWORD = 'password-1234';
const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };

const must = (res, what) => {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
};

/** Twenty published posts with three tags, and 32 signed-in readers. */
async function fixture(base) {
  const admin = must(await call(base, 'POST', '/api/v1/auth/login', { body: ADMIN }), 'admin sign-in');
  const tagIds = [];
  for (const name of ['benchmarks', 'databases', 'nestjs'])
    tagIds.push(must(await call(base, 'POST', '/api/v1/tags', { token: admin.accessToken, body: { name } }), 'tag').id);
  const author = await register(base, 'bench-author');
  const postIds = [];
  for (let i = 0; i < 20; i++) {
    const post = must(
      await call(base, 'POST', '/api/v1/posts', {
        token: author.token,
        body: { title: `Post ${i}`, content: BODY, tagIds },
      }),
      'create post',
    );
    must(await call(base, 'POST', `/api/v1/posts/${post.id}/publish`, { token: author.token }), 'publish');
    postIds.push(post.id);
  }
  const readers = [];
  for (let i = 0; i < 32; i++) {
    const email = `reader${i}-${Date.now()}@example.com`;
    const res = must(
      await call(base, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } }),
      'reader',
    );
    readers.push({ email, token: res.accessToken, userId: res.user.id });
  }
  return { author, postIds, readers };
}

function operation(name, base, { author, postIds, readers }) {
  const ok = (res) => res.status >= 200 && res.status < 300;
  const post = (i) => postIds[i % 16];
  switch (name) {
    case 'list':
      return async () => ok(await call(base, 'GET', '/api/v1/posts?limit=20'));
    case 'post':
      return async (i) => ok(await call(base, 'GET', `/api/v1/posts/${post(i)}`));
    case 'live':
      return async () => ok(await call(base, 'GET', '/health/live'));
    case 'user':
      return async () => ok(await call(base, 'GET', `/api/v1/users/${author.userId}`));
    case 'like':
      return async (i) => {
        const k = Math.floor(i / 2);
        const path = `/api/v1/posts/${post(Math.floor(k / 16))}/like`;
        return ok(await call(base, i % 2 ? 'DELETE' : 'PUT', path, { token: readers[k % 16].token }));
      };
    case 'login':
      return async (i) =>
        ok(
          await call(base, 'POST', '/api/v1/auth/login', {
            body: { email: readers[16 + (i % 16)].email, password: PASSWORD },
          }),
        );
    case 'register':
      return async (i) =>
        ok(
          await call(base, 'POST', '/api/v1/auth/register', {
            body: { email: `r${i}-${Date.now()}@example.com`, password: PASSWORD },
          }),
        );
    default:
      throw new Error(`unknown operation ${name}: see bench:profile`);
  }
}

async function drive(task, count) {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) if ((await task(next++)) === false) failed++;
    }),
  );
  if (failed) throw new Error(`${failed} of ${count} requests failed`);
}

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
    const app = await startApp(
      peerComparisonEnv({ endpoint: engine.endpoint, tableName: 'bench', bcryptCost: 4, admin: ADMIN }),
      { main },
    );
    sides.push({ label, main, app, data: await fixture(app.base) });
  }
  console.log(
    `A = ${mainA}, B = ${mainB}; ${ROUNDS} rounds of ${COUNT} requests at ${CONCURRENCY} callers; load ${loadavg()} at ${new Date().toISOString()}`,
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
      `${op}: A ${a.toFixed(3)} ms, B ${b.toFixed(3)} ms (B/A ${(b / a).toFixed(3)}); A ${figures.A.map((x) => x.toFixed(2)).join(' ')} | B ${figures.B.map((x) => x.toFixed(2)).join(' ')}; load ${loadavg()}`,
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
