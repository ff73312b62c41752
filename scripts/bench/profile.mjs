// `npm run bench:profile -- <operation> [more operations]`: where the app's CPU goes on one operation.
// Starts the app (built, `dist/`) under `--cpu-prof` on an in-memory DynamoDB Local, as `bench:peer`
// runs it (no stream worker, no rate limits, no page cache, bcrypt at cost 4), drives only the named
// operation for a fixed number of requests at 16 callers, stops the app and summarises the V8 profile:
// self time by package or source folder, the heaviest functions, and the inclusive time of the
// app's own frames, over the measured requests only. Operations: list, post, like, login (below the
// session cap), login-at-cap, register, user, live (scripts/bench/operations.mjs).
//   BENCH_PROFILE_COUNT=3000   requests per operation (after a warm-up of 300)
//   BENCH_CONCURRENCY=16       callers
//   BENCH_PROFILE_TOP=30       rows of each table
//   DYNAMODB_CLIENT=sdk        the AWS SDK's transport instead of the default
//   BENCH_PROFILE=off          no profiler: only the app process's CPU per request (utime + stime),
//                              the figure `bench:peer` compares, for quick before/after checks
// The CPU line splits the process's time by thread: the main thread (the event loop), bcrypt's worker
// threads (told apart by their nice value, PASSWORD_HASH_NICE), and the rest (V8's GC and compiler
// threads, libuv's pool). Under the profiler, V8's profiler threads (one per isolate: the main thread's
// and each bcrypt worker's) cost 1-2 ms a sign-in by themselves (2026-11-27): they are shown apart and
// left out of the total, so that it compares with a run without the profiler.
// The profile itself is left in bench/results/profile-<op>-<time>.cpuprofile (open it in Chrome's
// DevTools, Performance tab, or in VS Code) and not committed.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startApp, startEngine } from '../reliability/lib.mjs';
import { ADMIN, CONCURRENCY, drive, fixture, lastCost, operation, OPERATIONS } from './operations.mjs';
import { peerComparisonEnv } from './peer-env.mjs';

/** Seconds of utime and stime of each of the process's threads so far, by the part it plays. */
function threadCpu(pid) {
  const parts = { main: 0, bcrypt: 0, other: 0, profiler: 0, user: 0, system: 0 };
  const stat = (tid) => {
    const line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    // utime, stime and nice are fields 14, 15 and 19 of the line: 11, 12 and 16 after the name.
    const name = line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
    return { name, user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, nice: Number(fields[16]) };
  };
  const main = stat(pid);
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let thread;
    try {
      thread = stat(tid);
    } catch {
      continue; // ended since the listing
    }
    const part =
      Number(tid) === pid
        ? 'main'
        : thread.name.startsWith('v8:Prof')
          ? 'profiler'
          : thread.nice !== main.nice
            ? 'bcrypt'
            : 'other';
    parts[part] += thread.user + thread.system;
    if (part !== 'profiler') {
      parts.user += thread.user;
      parts.system += thread.system;
    }
  }
  return parts;
}

const COUNT = Number(process.env.BENCH_PROFILE_COUNT ?? 3000);
const TOP = Number(process.env.BENCH_PROFILE_TOP ?? 30);
const PROFILING = process.env.BENCH_PROFILE !== 'off';

/** Where a frame's code comes from: a package, a folder of the app, Node itself or V8. */
function origin(url) {
  if (!url) return '(V8: GC, program, native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const app = /\/dist\/([^/]+(?:\/[^/]+)?)\//.exec(url) ?? /\/dist\/([^/]+)$/.exec(url);
  if (app) return `app: ${app[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?([^/]+).*$/, 'node: $2');
  return url;
}

/** `from` and `to`: CLOCK_MONOTONIC in microseconds, the clock of V8's profile timestamps (Linux). */
function summarise(file, label, from, to) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue; // start-up, set-up and warm-up are not counted
    const id = profile.samples[i];
    const us = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample
    self.set(id, (self.get(id) ?? 0) + us);
  }
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let busy = 0;
  const byOrigin = new Map();
  const byFunction = new Map();
  const inclusive = new Map();
  const key = (frame) => `${frame.functionName || '(anonymous)'} ${origin(frame.url)}:${frame.lineNumber + 1}`;
  if (self.size === 0) throw new Error('no sample fell in the measured window: is the clock not shared?');
  for (const [id, us] of self) {
    const node = byId.get(id);
    const name = node.callFrame.functionName;
    if (name === '(idle)') continue;
    busy += us;
    const o = name === '(garbage collector)' ? '(V8: GC)' : origin(node.callFrame.url);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + us);
    byFunction.set(key(node.callFrame), (byFunction.get(key(node.callFrame)) ?? 0) + us);
    // Inclusive time of the app's frames: each distinct app frame on the stack counted once.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame;
      if (!/\/dist\//.test(frame.url)) continue;
      const k = key(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const table = (title, map) => {
    console.log(`\n${title}`);
    const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    for (const [name, us] of rows)
      console.log(
        `${((us / busy) * 100).toFixed(1).padStart(6)} %  ${((us / 1000 / COUNT) * 1000).toFixed(0).padStart(5)} us/req  ${name}`,
      );
  };
  console.log(
    `\n== ${label}: ${(busy / 1000 / COUNT).toFixed(2)} ms of busy main thread per request (${COUNT} requests, the warm-up and set-up left out)`,
  );
  table('Self time by origin', byOrigin);
  table('Self time by function', byFunction);
  table("Inclusive time of the app's own functions", inclusive);
}

async function main() {
  const ops = process.argv.slice(2);
  if (ops.length === 0) throw new Error(`name an operation: ${OPERATIONS.join(', ')}`);
  const dir = 'bench/results';
  mkdirSync(dir, { recursive: true });
  for (const op of ops) {
    const engine = await startEngine({});
    const tmp = join(dir, `.prof-${process.pid}`);
    const app = await startApp(
      peerComparisonEnv({ endpoint: engine.endpoint, tableName: 'bench', bcryptCost: 4, admin: ADMIN }),
      { nodeArgs: PROFILING ? ['--cpu-prof', `--cpu-prof-dir=${tmp}`] : [] },
    );
    const data = await fixture(app.base, { ops: [op], logins: 300 + COUNT });
    const task = operation(op, app.base, data);
    await drive(task, 300);
    const from = Number(process.hrtime.bigint() / 1000n);
    const cpuBefore = threadCpu(app.child.pid);
    await drive(task, COUNT);
    const cpuAfter = threadCpu(app.child.pid);
    const perRequest = (part) => ((cpuAfter[part] - cpuBefore[part]) * 1000) / COUNT;
    const cpuMs = perRequest('user') + perRequest('system');
    const to = Number(process.hrtime.bigint() / 1000n);
    await app.stop();
    console.log(
      `\n${op}: ${cpuMs.toFixed(2)} ms of app CPU per request (utime ${perRequest('user').toFixed(2)} + stime ${perRequest('system').toFixed(2)}, ${COUNT} requests at ${CONCURRENCY} callers${PROFILING ? ', under the profiler' : ''}; the last one: ${lastCost()})` +
        `\n  by thread: main ${perRequest('main').toFixed(2)}, bcrypt's workers ${perRequest('bcrypt').toFixed(2)}, other (V8's GC and compiler, libuv) ${perRequest('other').toFixed(2)}` +
        (PROFILING ? `; V8's profiler threads ${perRequest('profiler').toFixed(2)}, left out` : '') +
        `; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    if (!PROFILING) {
      await cleanup();
      continue;
    }
    // One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>): the main thread's is thread 0.
    const written = readdirSync(tmp);
    const main = written.find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name));
    if (!main) throw new Error(`no main-thread profile among ${written.join(', ')}`);
    const file = join(dir, `profile-${op}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    renameSync(join(tmp, main), file);
    rmSync(tmp, { recursive: true, force: true });
    summarise(file, op, from, to);
    console.log(`\nprofile: ${file}`);
    await cleanup();
  }
}

main()
  .catch(async (error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
