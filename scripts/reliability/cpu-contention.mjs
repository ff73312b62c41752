// Control experiment for login-load.mjs: the same probes of GET /health/live and the cached feed,
// idle and then while two busy loops run at the lowest CPU priority (nice 19) in other processes.
// A nice-19 loop takes only CPU that nothing else wants, so any slowdown of the probes here is the
// machine's own scheduling (a VM's vCPUs, the host), not the app's work.
// `npm run build && node scripts/reliability/cpu-contention.mjs`
import { spawn } from 'node:child_process';
import { availableParallelism, setPriority } from 'node:os';
import { call, cleanup, percentile, sleep, startApp, tempDir } from './lib.mjs';

const seconds = Number(process.env.LOGIN_LOAD_SECONDS ?? 8);

async function probe(base) {
  const live = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    live.push((await call(base, 'GET', '/health/live')).ms);
    await sleep(20);
  }
  return { p50: percentile(live, 50), p99: percentile(live, 99), n: live.length };
}

try {
  const app = await startApp({
    DYNAMODB_EMBEDDED_IN_MEMORY: 'true',
    DYNAMODB_EMBEDDED_DATA_DIR: tempDir('contention-'),
  });
  const idle = await probe(app.base);
  const loops = Array.from({ length: availableParallelism() }, () => {
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    setPriority(child.pid, 19);
    return child;
  });
  await sleep(1000);
  const busy = await probe(app.base);
  for (const child of loops) child.kill('SIGKILL');
  await app.stop();
  console.log(JSON.stringify({ loops: loops.length, idle, underNice19Loops: busy }));
} finally {
  await cleanup();
}
