// Load script: latency of GET /health/live and of a cached anonymous read (the global feed, served
// from the public page cache) idle and while logins saturate the bcrypt limiter.
// `npm run build && node scripts/reliability/login-load.mjs` (BCRYPT_COST 12, the default).
// LOGIN_LOAD_SECONDS sets each phase's length (default 8). LOGIN_LOAD_APART=1 runs DynamoDB Local and the sign-in clients at the lowest CPU priority
// (nice 19), as if they were on other hosts (in production the database and the clients are
// elsewhere): then the app's own work is all that competes with the probes for the cores.
// LOGIN_LOAD_NODE_ARGS passes Node/V8 flags to the app (e.g. "--single-threaded-gc"), to compare.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { call, cleanup, percentile, register, sleep, startApp, startEngine, tempDir } from './lib.mjs';

const LOWEST_PRIORITY = 19;

const PROBED = { live: '/health/live', cachedFeed: '/api/v1/posts' };

async function probe(base, seconds) {
  const samples = { live: [], cachedFeed: [] };
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    for (const [name, path] of Object.entries(PROBED)) samples[name].push((await call(base, 'GET', path)).ms);
    await sleep(20);
  }
  const summary = (list) => ({ p50: percentile(list, 50), p99: percentile(list, 99), n: list.length });
  return { live: summary(samples.live), cachedFeed: summary(samples.cachedFeed) };
}

/** The sign-in clients run in their own process, so their event loop does not delay the probe's. */
function startSignIns(base, user, clients, apart) {
  const child = fork(new URL('./login-load-clients.mjs', import.meta.url), [
    base,
    user.email,
    'password-1234',
    String(clients),
  ]);
  if (apart) setPriority(child.pid, LOWEST_PRIORITY);
  const finished = new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.logins));
    child.once('exit', (code) => reject(new Error(`the sign-in clients exited with code ${code}`)));
  });
  return {
    stop: async () => {
      child.send('stop');
      return finished;
    },
  };
}

export async function loginLoad({ seconds = 8, env = {}, apart = false, nodeArgs = [] } = {}) {
  let database = { DYNAMODB_EMBEDDED_IN_MEMORY: 'true', DYNAMODB_EMBEDDED_DATA_DIR: tempDir('login-') };
  if (apart) {
    const engine = await startEngine({});
    setPriority(engine.process.pid, LOWEST_PRIORITY);
    database = { DYNAMODB_ENDPOINT: engine.endpoint, DYNAMODB_TABLE_NAME: 'login-load' };
  }
  const app = await startApp(
    {
      BCRYPT_COST: '12',
      MAIL_TRANSPORT: 'log',
      ...database,
      LOGIN_RATE_MAX_PER_ACCOUNT: '100000',
      LOGIN_RATE_MAX_PER_IP: '100000',
      // The production default, so the anonymous feed is answered from the page cache.
      PUBLIC_CACHE_SECONDS: '5',
      ...env,
    },
    { nodeArgs },
  );
  const user = await register(app.base, 'load');
  const idle = await probe(app.base, seconds);
  const signIns = startSignIns(app.base, user, 16, apart);
  await sleep(1000);
  const busy = await probe(app.base, seconds);
  const logins = await signIns.stop();
  await app.stop();
  return { apart, idle, underLogin: busy, loginsPerSecond: logins / (seconds + 1) };
}

/**
 * One run as a row of the tables in docs/reliability.md, to paste: when, the load average
 * before and after, where the engine and clients ran, then idle -> under sign-ins.
 */
export function tableRow(result, { startedAt, loadBefore, loadAfter }) {
  const ms = (value) => `${value.toFixed(1)}`;
  const change = (idle, busy) => `${ms(idle)} -> ${ms(busy)} ms (${(busy / idle).toFixed(1)}x)`;
  const { idle, underLogin } = result;
  return [
    '',
    `${startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    `${loadBefore} -> ${loadAfter}`,
    result.apart ? 'nice 19 ("on other hosts")' : 'same priority as the app',
    `${ms(idle.live.p50)} -> ${ms(underLogin.live.p50)} ms`,
    change(idle.live.p99, underLogin.live.p99),
    change(idle.cachedFeed.p99, underLogin.cachedFeed.p99),
    result.loginsPerSecond.toFixed(1),
    '',
  ]
    .join(' | ')
    .trim();
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    // PASSWORD_HASH_NICE / PASSWORD_HASH_CONCURRENCY from the environment, to compare settings.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('PASSWORD_HASH_')));
    const startedAt = new Date().toISOString();
    const loadBefore = loadAverage();
    const result = await loginLoad({
      env,
      apart: process.env.LOGIN_LOAD_APART === '1',
      nodeArgs: process.env.LOGIN_LOAD_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
      seconds: Number(process.env.LOGIN_LOAD_SECONDS ?? 8),
    });
    console.log(JSON.stringify({ env, ...result }));
    // Columns: started, load average before -> after, engine and clients, /health/live p50 and
    // p99, cached feed p99 (idle -> under sign-ins), sign-ins/s.
    console.log(tableRow(result, { startedAt, loadBefore, loadAfter: loadAverage() }));
  } finally {
    await cleanup();
  }
}
