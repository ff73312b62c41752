// `npm run bench:cpu`: the app process's CPU per request (utime + stime, robust to the machine's
// load) on the common read pipeline, without the rest of `npm run bench`. With several builds
// (BENCH_CPU_MAINS=a/main.js,b/main.js: copies of dist/ inside the repository, so that they find
// node_modules) it runs them interleaved, round by round, for before/after figures.
//
//   BENCH_CPU_MAINS=dist/main.js   builds to compare
//   BENCH_CPU_ROUNDS=3             rounds (a fresh app per build and round)
//   BENCH_CPU_COUNT=1000           requests per operation and round
//   BENCH_CONCURRENCY=16           callers
//   BENCH_CPU_PROF=dir             also write a V8 CPU profile of each app into dir (--cpu-prof)
//   BENCH_LOG_LEVEL=warn           the apps' LOG_LEVEL (`log` writes an access line per request)
import { call, percentile, runScript, startApp, startEngine } from '../reliability/lib.mjs';
import { createFixture } from './capacity.mjs';
import { cpuPerRequest, round2 } from './throughput.mjs';

const MAINS = (process.env.BENCH_CPU_MAINS ?? 'dist/main.js').split(',');
const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 3);
const COUNT = Number(process.env.BENCH_CPU_COUNT ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PROF = process.env.BENCH_CPU_PROF;
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };

async function main() {
  const engine = await startEngine({});
  const env = {
    DYNAMODB_ENDPOINT: engine.endpoint,
    DYNAMODB_TABLE_NAME: 'bench',
    MAIL_TRANSPORT: 'log',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    CONTENT_RATE_LIMIT_PER_MINUTE: '0',
  };
  // The fixture, and 19 more posts so that the feed page lists 20.
  const setup = await startApp({ ...env, PUBLIC_CACHE_SECONDS: '0' }, { main: MAINS[0] });
  const signIn = await call(setup.base, 'POST', '/api/v1/auth/login', { body: ADMIN });
  if (signIn.status !== 200) throw new Error(`admin sign-in: ${signIn.status} ${signIn.text}`);
  const fixture = await createFixture(setup.base, { token: signIn.json.accessToken, userId: signIn.json.user.id });
  for (let i = 0; i < 19; i++) {
    const created = await call(setup.base, 'POST', '/api/v1/posts', {
      token: fixture.author.token,
      body: { title: `Post ${i}`, content: 'A body. '.repeat(120), tagIds: [fixture.tag.id] },
    });
    const published = await call(setup.base, 'POST', `/api/v1/posts/${created.json?.id}/publish`, {
      token: fixture.author.token,
    });
    if (published.status !== 200 && published.status !== 201) throw new Error(`publish: ${published.status}`);
  }
  await setup.stop();

  const ok = (res) => res.status === 200;
  const get = (base, path) => async () => ok(await call(base, 'GET', path));
  const runs = Object.fromEntries(MAINS.map((m) => [m, {}]));
  for (let round = 0; round < ROUNDS; round++)
    for (const [n, main] of MAINS.entries()) {
      const nodeArgs = (name) =>
        PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${name}-b${n}-r${round}.cpuprofile`] : [];
      const app = await startApp({ ...env, PUBLIC_CACHE_SECONDS: '0' }, { main, nodeArgs: nodeArgs('reads') });
      const cpu = await cpuPerRequest({
        pid: app.child.pid,
        concurrency: CONCURRENCY,
        count: COUNT,
        operations: {
          'GET /users/{id}': get(app.base, `/api/v1/users/${fixture.author.userId}`),
          'GET /posts/{id}': get(app.base, `/api/v1/posts/${fixture.post.id}`),
          'feed page (GET /posts?limit=20)': get(app.base, '/api/v1/posts?limit=20'),
        },
      });
      await app.stop();
      const cached = await startApp({ ...env, PUBLIC_CACHE_SECONDS: '300' }, { main, nodeArgs: nodeArgs('cached') });
      Object.assign(
        cpu,
        await cpuPerRequest({
          pid: cached.child.pid,
          concurrency: CONCURRENCY,
          count: COUNT,
          operations: { 'cached front page': get(cached.base, '/api/v1/posts?limit=20') },
        }),
      );
      await cached.stop();
      for (const [op, ms] of Object.entries(cpu)) (runs[main][op] ??= []).push(ms);
      console.log(`round ${round + 1} ${main}: ${JSON.stringify(cpu)}`);
    }
  console.log(`\nApp CPU per request (ms, median of ${ROUNDS} rounds, min-max), ${COUNT} requests at ${CONCURRENCY}:`);
  for (const [main, ops] of Object.entries(runs)) {
    console.log(main);
    for (const [op, values] of Object.entries(ops))
      console.log(
        `  ${op.padEnd(34)} ${round2(percentile(values, 50))} (${Math.min(...values)}-${Math.max(...values)})`,
      );
  }
}

await runScript(main);
