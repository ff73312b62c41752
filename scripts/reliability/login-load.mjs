// Load script: latency of GET /health/live and of a cached anonymous read (the global feed, served
// from the public page cache) idle and while logins saturate the bcrypt limiter.
// `npm run build && node scripts/reliability/login-load.mjs` (BCRYPT_COST 12, the default).
// LOGIN_LOAD_SECONDS sets each phase's length (default 8). LOGIN_LOAD_APART=1 runs DynamoDB Local and the sign-in clients at the lowest CPU priority
// (nice 19), as if they were on other hosts (in production the database and the clients are
// elsewhere): then the app's own work is all that competes with the probes for the cores.
// LOGIN_LOAD_NODE_ARGS passes Node/V8 flags to the app (e.g. "--single-threaded-gc"), to compare.
// Beside the latencies it prints the kernel's accounting (sched-stats.mjs) per phase: each thread's
// time on a CPU and waiting on a run queue, and the hypervisor's steal; and for each probe request
// the app's main thread's run-queue wait, the probe's own, and the steal while it was in flight, so
// the slowest requests say where their time went.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { call, cleanup, percentile, register, sleep, startApp, startEngine, tempDir } from './lib.mjs';
import {
  cpuTimes,
  lowerEveryThread,
  processDelta,
  stealDelta,
  threadDeltas,
  threadSchedstat,
  threadsOf,
} from './sched-stats.mjs';

const LOWEST_PRIORITY = 19;

const PROBED = { live: '/health/live', cachedFeed: '/api/v1/posts' };

/** Where a request's time went: the app's main thread's and the probe's run-queue waits, the steal. */
function bracket(appPid) {
  const at = () => ({ app: threadSchedstat(appPid), probe: threadSchedstat(process.pid), cpu: cpuTimes() });
  const start = at();
  return () => {
    const end = at();
    return {
      appWaitMs: end.app.waitMs - start.app.waitMs,
      appRunMs: end.app.runMs - start.app.runMs,
      probeWaitMs: end.probe.waitMs - start.probe.waitMs,
      // Every vCPU's steal while the request was in flight (10 ms ticks: coarse one by one, fair summed).
      stealMs: end.cpu.steal - start.cpu.steal,
    };
  };
}

const mean = (list, key) => (list.length ? list.reduce((sum, s) => sum + s[key], 0) / list.length : 0);

/** p50, p99 and what the slowest 2% (at least 3) of the requests spent waiting, against every request. */
function summary(list) {
  const ms = list.map((s) => s.ms);
  const slowest = [...list].sort((a, b) => b.ms - a.ms).slice(0, Math.max(3, Math.ceil(list.length / 50)));
  const where = (samples) => ({
    ms: mean(samples, 'ms'),
    appWaitMs: mean(samples, 'appWaitMs'),
    probeWaitMs: mean(samples, 'probeWaitMs'),
    stealMs: mean(samples, 'stealMs'),
  });
  return {
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    n: list.length,
    all: where(list),
    slowest: where(slowest),
  };
}

/** Per phase: every app thread's on-CPU and run-queue wait, the other processes' totals, and the steal. */
function phaseAccounting(pids) {
  const start = {
    cpu: cpuTimes(),
    threads: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, threadsOf(pid)])),
  };
  const began = performance.now();
  return () => {
    const seconds = (performance.now() - began) / 1000;
    const end = {
      cpu: cpuTimes(),
      threads: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, threadsOf(pid)])),
    };
    const processes = Object.fromEntries(
      Object.entries(pids).map(([k]) => [k, processDelta(start.threads[k], end.threads[k])]),
    );
    const main = threadDeltas(pids.app, start.threads.app, end.threads.app);
    const machine = stealDelta(start.cpu, end.cpu);
    // CPU the machine spent outside these processes: other sessions' work makes a run say nothing.
    const othersMs = Math.max(0, machine.busyMs - Object.values(processes).reduce((sum, p) => sum + p.runMs, 0));
    return { seconds: Math.round(seconds * 10) / 10, ...machine, othersMs, processes, appThreads: main };
  };
}

async function probe(base, seconds, pids) {
  const samples = { live: [], cachedFeed: [] };
  const phase = phaseAccounting(pids);
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    for (const [name, path] of Object.entries(PROBED)) {
      const done = bracket(pids.app);
      const { ms } = await call(base, 'GET', path);
      samples[name].push({ ms, ...done() });
    }
    await sleep(20);
  }
  return { live: summary(samples.live), cachedFeed: summary(samples.cachedFeed), kernel: phase() };
}

/**
 * LOGIN_LOAD_APART=1: every thread of the process at nice 19. Until 2026-11-27 it lowered only the
 * thread whose id is the pid (`setPriority(pid)` on Linux is per thread), which for the JVM is its
 * launcher thread, idle: the engine served at nice 0. LOGIN_LOAD_APART=first-thread does that
 * again, to compare.
 */
function lower(pid, apart) {
  if (apart === 'first-thread') setPriority(pid, LOWEST_PRIORITY);
  else lowerEveryThread(pid, LOWEST_PRIORITY);
}

/** The embedded engine's pid: the app's `java` child (undefined when the engine is elsewhere). */
function embeddedEngine(appPid) {
  try {
    const children = readFileSync(`/proc/${appPid}/task/${appPid}/children`, 'utf8').trim().split(' ').filter(Boolean);
    return children.map(Number).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'java');
  } catch {
    return undefined;
  }
}

/** LOGIN_LOAD_BCRYPT_POLICY=idle|batch: `chrt` the app's lowered threads (bcrypt's) to that policy, to compare. */
function setBcryptPolicy(appPid, policy) {
  for (const [tid, thread] of threadsOf(appPid))
    if (thread.nice > 0) execFileSync('chrt', [`--${policy}`, '--pid', '0', String(tid)]);
}

/** The sign-in clients run in their own process, so their event loop does not delay the probe's. */
function startSignIns(base, user, clients, apart) {
  const child = fork(new URL('./login-load-clients.mjs', import.meta.url), [
    base,
    user.email,
    'password-1234',
    String(clients),
  ]);
  if (apart) lower(child.pid, apart);
  const finished = new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.logins));
    child.once('exit', (code) => reject(new Error(`the sign-in clients exited with code ${code}`)));
  });
  return {
    pid: child.pid,
    stop: async () => {
      child.send('stop');
      return finished;
    },
  };
}

export async function loginLoad({ seconds = 8, env = {}, apart = false, nodeArgs = [], bcryptPolicy } = {}) {
  let database = { DYNAMODB_EMBEDDED_IN_MEMORY: 'true', DYNAMODB_EMBEDDED_DATA_DIR: tempDir('login-') };
  // The embedded engine is the app's child: its threads are counted only when it runs apart.
  let enginePid;
  if (apart) {
    const engine = await startEngine({});
    enginePid = engine.process.pid;
    lower(enginePid, apart);
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
  enginePid ??= embeddedEngine(app.child.pid);
  // Threads the engine started while serving the first requests inherit nice 0 from the launcher.
  if (enginePid && apart) lower(enginePid, apart);
  if (bcryptPolicy) setBcryptPolicy(app.child.pid, bcryptPolicy);
  const pids = { app: app.child.pid, probe: process.pid, ...(enginePid ? { engine: enginePid } : {}) };
  const idle = await probe(app.base, seconds, pids);
  const signIns = startSignIns(app.base, user, 16, apart);
  await sleep(1000);
  if (apart) [enginePid, signIns.pid].forEach((pid) => pid && lower(pid, apart));
  const busy = await probe(app.base, seconds, { ...pids, clients: signIns.pid });
  const logins = await signIns.stop();
  await app.stop();
  return { apart, bcryptPolicy, idle, underLogin: busy, loginsPerSecond: logins / (seconds + 1) };
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
    { all: 'nice 19, every thread', 'first-thread': 'nice 19, first thread only' }[result.apart] ??
      'same priority as the app',
    `${ms(idle.live.p50)} -> ${ms(underLogin.live.p50)} ms`,
    change(idle.live.p99, underLogin.live.p99),
    change(idle.cachedFeed.p99, underLogin.cachedFeed.p99),
    result.loginsPerSecond.toFixed(1),
    // The kernel's view, idle -> under sign-ins: the app's main thread's run-queue wait per
    // /health/live request (mean; the slowest 2%'s mean), and the machine's steal.
    `${ms(idle.live.all.appWaitMs)} -> ${ms(underLogin.live.all.appWaitMs)} ms` +
      ` (slowest: ${ms(idle.live.slowest.appWaitMs)} -> ${ms(underLogin.live.slowest.appWaitMs)} ms)`,
    `${idle.kernel.stealPct} -> ${underLogin.kernel.stealPct}%`,
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
      apart: { 1: 'all', 'first-thread': 'first-thread' }[process.env.LOGIN_LOAD_APART ?? ''] ?? false,
      nodeArgs: process.env.LOGIN_LOAD_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
      seconds: Number(process.env.LOGIN_LOAD_SECONDS ?? 8),
      bcryptPolicy: process.env.LOGIN_LOAD_BCRYPT_POLICY,
    });
    console.log(JSON.stringify({ env, ...result }));
    for (const [phase, figures] of [
      ['idle', result.idle],
      ['under sign-ins', result.underLogin],
    ]) {
      const { kernel } = figures;
      console.log(
        `${phase}: steal ${kernel.stealMs} ms of ${kernel.cpuMs} ms CPU (${kernel.stealPct}%), busy ${kernel.busyPct}%` +
          ` (${kernel.othersMs} ms outside these processes);` +
          ` processes (on CPU / run-queue wait, ms): ${JSON.stringify(kernel.processes)}`,
      );
      console.log(`  app threads: ${JSON.stringify(kernel.appThreads)}`);
      for (const name of ['live', 'cachedFeed']) {
        const { all, slowest } = figures[name];
        const where = (w) =>
          `${w.ms.toFixed(1)} ms (app main thread waiting ${w.appWaitMs.toFixed(2)}, probe waiting ${w.probeWaitMs.toFixed(2)}, steal ${w.stealMs.toFixed(1)})`;
        console.log(`  ${name}: mean ${where(all)}; slowest 2% ${where(slowest)}`);
      }
    }
    // Columns: started, load average before -> after, engine and clients, /health/live p50 and
    // p99, cached feed p99 (idle -> under sign-ins), sign-ins/s, the app's main thread's run-queue
    // wait per /health/live request, steal.
    console.log(tableRow(result, { startedAt, loadBefore, loadAfter: loadAverage() }));
  } finally {
    await cleanup();
  }
}
