// CPU of the sign-in path outside bcrypt: app-process CPU (utime+stime, worker threads included)
// per login, register and refresh at BCRYPT_COST=4 (a hash costs well under 1 ms there), with the
// DynamoDB calls/RCU/WCU of one request of each from the Server-Timing accounting. CPU time is
// robust to load; the script prints the load average beside it.
// `npm run build && node scripts/bench/sign-in-cpu.mjs` (SIGN_IN_CPU_COUNT requests each, default 400).
import { readFileSync } from 'node:fs';
import { call, cleanup, register, startApp, tempDir } from '../reliability/lib.mjs';
import { cpuPerRequest } from './throughput.mjs';

const COUNT = Number(process.env.SIGN_IN_CPU_COUNT ?? 400);
const CONCURRENCY = 8;

const costOf = (res) => {
  const match = /calls=(\d+) rcu=([\d.]+) wcu=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  return match ? { calls: Number(match[1]), rcu: Number(match[2]), wcu: Number(match[3]) } : undefined;
};

export async function signInCpu({ count = COUNT, nodeArgs = [] } = {}) {
  const app = await startApp(
    {
      BCRYPT_COST: '4',
      MAIL_TRANSPORT: 'log',
      DYNAMODB_EMBEDDED_IN_MEMORY: 'true',
      DYNAMODB_EMBEDDED_DATA_DIR: tempDir('sign-in-cpu-'),
      LOGIN_RATE_MAX_PER_ACCOUNT: '100000',
      LOGIN_RATE_MAX_PER_IP: '100000',
      REGISTER_RATE_MAX_PER_IP: '100000',
      REFRESH_RATE_MAX_PER_SESSION: '100000',
      SERVER_TIMING: 'true',
    },
    { nodeArgs },
  );
  const users = [];
  for (let i = 0; i < 16; i++) users.push(await register(app.base, `cpu${i}`));
  // Refresh tokens rotate: each chain is a user of its own (the logins' sessions would evict it).
  const chains = [];
  for (let i = 0; i < 16; i++) {
    const res = await call(app.base, 'POST', '/api/v1/auth/register', {
      body: { email: `cpu-chain${i}-${Math.random().toString(36).slice(2, 8)}@example.com`, password: 'password-1234' },
    });
    chains.push(res.json.refreshToken);
  }
  const costs = {};
  const ok = (name, status) => (res) => {
    costs[name] ??= costOf(res);
    return res.status === status;
  };
  const operations = {
    login: (i) =>
      call(app.base, 'POST', '/api/v1/auth/login', {
        body: { email: users[i % users.length].email, password: 'password-1234' },
      }).then(ok('login', 200)),
    register: (i) =>
      call(app.base, 'POST', '/api/v1/auth/register', {
        body: { email: `cpu-r${i}-${Math.random().toString(36).slice(2, 8)}@example.com`, password: 'password-1234' },
      }).then(ok('register', 201)),
    refresh: async (i) => {
      // One request per chain at a time: the chain's slot is taken before the call.
      const slot = i % chains.length;
      const token = await chains[slot];
      const pending = call(app.base, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: token } });
      chains[slot] = pending.then((res) => res.json?.refreshToken ?? token);
      return pending.then(ok('refresh', 200));
    },
  };
  const cpuMs = await cpuPerRequest({ pid: app.child.pid, operations, count, concurrency: CONCURRENCY });
  await app.stop();
  return { cpuMsPerRequest: cpuMs, costs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const result = await signInCpu();
    console.log(
      JSON.stringify({
        date: new Date().toISOString(),
        loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
        count: COUNT,
        ...result,
      }),
    );
  } finally {
    await cleanup();
  }
}
