// Load script: latency of GET /health/live and of a cached anonymous read (the global feed, served
// from the public page cache) idle and while logins saturate the bcrypt limiter.
// `npm run build && node scripts/reliability/login-load.mjs` (BCRYPT_COST 12, the default).
import { call, cleanup, percentile, pool, register, sleep, startApp, tempDir } from './lib.mjs';

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

export async function loginLoad({ seconds = 8 } = {}) {
  const app = await startApp({
    BCRYPT_COST: '12',
    MAIL_TRANSPORT: 'log',
    DYNAMODB_EMBEDDED_IN_MEMORY: 'true',
    DYNAMODB_EMBEDDED_DATA_DIR: tempDir('login-'),
    LOGIN_RATE_MAX_PER_ACCOUNT: '100000',
    LOGIN_RATE_MAX_PER_IP: '100000',
    // The production default, so the anonymous feed is answered from the page cache.
    PUBLIC_CACHE_SECONDS: '5',
  });
  const user = await register(app.base, 'load');
  const idle = await probe(app.base, seconds);
  let running = true;
  let logins = 0;
  const load = pool(16, 16, async () => {
    while (running) {
      await call(app.base, 'POST', '/api/v1/auth/login', { body: { email: user.email, password: 'password-1234' } });
      logins++;
    }
  });
  await sleep(1000);
  const busy = await probe(app.base, seconds);
  running = false;
  await load;
  await app.stop();
  return { idle, underLogin: busy, loginsPerSecond: logins / (seconds + 1) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(JSON.stringify(await loginLoad(), null, 1));
  } finally {
    await cleanup();
  }
}
