// `node scripts/bench/user-route.mjs` (after `npm run build`): where the CPU of `GET /users/{id}` goes
// in `BENCH_PIN=1 npm run bench`'s app-against-raw comparison, side by side with its raw `Query`. The
// same set-up as that comparison (the built app without the stream worker, rate limits or page cache,
// in bench:peer's environment, on an in-memory DynamoDB Local of its own; the raw loop on a client
// with the app's settings; 16
// callers in a closed loop), pinned the same way (the engine on core 1, this process and the app on
// core 0), and for each run: requests per second, and the CPU per request of this process (the HTTP
// driver or the raw loop), of the app and of the engine (utime + stime from /proc), and how busy each
// core was. The order of the rows reverses from one round to the next.
//   BENCH_SECONDS=3        length of each run
//   BENCH_ROUNDS=4         rounds
//   BENCH_CONCURRENCY=16   callers
//   BENCH_PIN=0            run unpinned instead
//   BENCH_WARMUP=3000      requests of each task (each app, each driver, the raw loop) before the rounds
//   BENCH_MAINS=dist/main.js,other/main.js   several builds, interleaved (copies of dist/ in the repository)
//   BENCH_DRIVERS=http,fetch               the app side's HTTP drivers (throughput.mjs, appGet), each a row
//   BENCH_NODE_ARGS='|--single-threaded-gc'  node options of each build's app, in BENCH_MAINS's order
//                                            ('|' between builds, spaces between options)
import { readdirSync, readFileSync } from 'node:fs';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import { call, JWT_SECRET, percentile, runScript, startApp, startEngine } from '../reliability/lib.mjs';
import { peerComparisonEnv } from './peer-env.mjs';
import { createFixture } from './capacity.mjs';
import { corePinning } from './pin.mjs';
import { closedLoop, cpuSecondsOf, DRIVERS, userRoute } from './throughput.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PIN = process.env.BENCH_PIN !== '0';
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const MAINS = (process.env.BENCH_MAINS ?? 'dist/main.js').split(',');
const DRIVERS_USED = (process.env.BENCH_DRIVERS ?? DRIVERS.join(',')).split(',');
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split('|').map((args) => args.split(' ').filter(Boolean));
const TABLE = 'bench';
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };

/** Runs `task` `count` times at CONCURRENCY callers; throws on a failure. */
async function drive(task, count) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) if ((await task()) === false) throw new Error('a warm-up request failed');
    }),
  );
}

/** `pid` and the processes below it (the engine may be a wrapper around `java`). */
function tree(pid) {
  const found = [pid];
  for (let i = 0; i < found.length; i++)
    for (const tid of readdirSync(`/proc/${found[i]}/task`)) {
      const children = readFileSync(`/proc/${found[i]}/task/${tid}/children`, 'utf8').trim();
      if (children) found.push(...children.split(/\s+/).map(Number));
    }
  return found;
}
const cpuOfTree = (pids) => pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
/** Busy jiffies of each core so far, from /proc/stat. */
function coreBusy() {
  const busy = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(' ').map(Number);
    busy[m[1]] = {
      busy: user + nice + system + irq + softirq + steal,
      all: user + nice + system + idle + iowait + irq + softirq + steal,
    };
  }
  return busy;
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main() {
  const engine = await startEngine({});
  const appEnv = peerComparisonEnv({ endpoint: engine.endpoint, tableName: TABLE, bcryptCost: 4, admin: ADMIN });
  // The fixture through an app of its own: an app that served it ran slower afterwards than its
  // fresh peers (2026-11-27, 23:52 UTC), which would have biased a comparison of builds.
  const setup = await startApp(appEnv);
  const signIn = await call(setup.base, 'POST', '/api/v1/auth/login', { body: ADMIN });
  if (signIn.status !== 200) throw new Error(`admin sign-in: ${signIn.status} ${signIn.text}`);
  const fixture = await createFixture(setup.base, { token: signIn.json.accessToken, userId: signIn.json.user.id });
  await setup.stop();
  const apps = [];
  for (const [i, main] of MAINS.entries()) {
    const nodeArgs = NODE_ARGS[i] ?? [];
    const label = [main, ...nodeArgs].join(' ');
    apps.push({ label, ...(await startApp(appEnv, { main, nodeArgs })) });
  }
  const config = loadConfig({ NODE_ENV: 'development', JWT_SECRET, ...appEnv });
  const db = createDocumentClient(createDynamoClient(config.dynamo));
  const engines = tree(engine.process.pid);
  const pinning = PIN
    ? corePinning({ engine: engine.process.pid, measured: [process.pid, ...apps.map((a) => a.child.pid)] })
    : undefined;
  pinning?.pin();
  // The two tasks exactly as the bench's comparison sends them.
  const tasks = {};
  for (const app of apps) {
    for (const driver of DRIVERS_USED) {
      const route = userRoute({ base: app.base, db, tableName: TABLE, fixture, driver });
      tasks[`app ${app.label}, ${driver}`] = { task: route.app, pid: app.child.pid };
      tasks.raw = { task: route.raw };
    }
  }
  const figures = Object.fromEntries(Object.keys(tasks).map((name) => [name, []]));
  // Warm-up: the app's CPU per request kept falling for 4-5 rounds after a 1 s warm-up on a loaded
  // machine (2026-11-27, load 20): the JIT had not settled. WARMUP requests per task first.
  for (const { task } of Object.values(tasks)) await drive(task, WARMUP);
  console.log(
    `${PIN ? 'pinned: engine on core 1, this process and the app(s) on core 0' : 'unpinned'}; ${ROUNDS} rounds of ${SECONDS} s at ${CONCURRENCY} callers; load ${loadavg()} at ${new Date().toISOString()}`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.entries(tasks);
    if (round % 2) order.reverse();
    for (const [name, { task, pid }] of order) {
      const before = {
        self: cpuSecondsOf(process.pid),
        app: pid ? cpuSecondsOf(pid) : 0,
        engine: cpuOfTree(engines),
        cores: coreBusy(),
      };
      const started = performance.now();
      const { perSecond, failed } = await closedLoop(task, { concurrency: CONCURRENCY, seconds: SECONDS });
      const wall = (performance.now() - started) / 1000;
      if (failed) throw new Error(`${name}: ${failed} failed`);
      const n = perSecond * wall;
      const per = (a, b) => (((a - b) * 1000) / n).toFixed(3);
      const cores = coreBusy();
      const share = (c) =>
        (((cores[c].busy - before.cores[c].busy) / (cores[c].all - before.cores[c].all)) * 100).toFixed(0);
      const row = {
        rate: perSecond,
        self: Number(per(cpuSecondsOf(process.pid), before.self)),
        app: pid ? Number(per(cpuSecondsOf(pid), before.app)) : 0,
        engine: Number(per(cpuOfTree(engines), before.engine)),
      };
      figures[name].push(row);
      console.log(
        `round ${round + 1} ${name.padEnd(36)} ${perSecond.toFixed(0).padStart(5)}/s  ms/request: driver-or-loop ${row.self.toFixed(3)}  app ${row.app.toFixed(3)}  engine ${row.engine.toFixed(3)}; core 0 ${share('0')} %, core 1 ${share('1')} % busy`,
      );
    }
  }
  pinning?.unpin();
  console.log(`\nmedians (load ${loadavg()}):`);
  const med = (rows, key) =>
    percentile(
      rows.map((r) => r[key]),
      50,
    );
  for (const [name, rows] of Object.entries(figures))
    console.log(
      `  ${name.padEnd(36)} ${med(rows, 'rate').toFixed(0).padStart(5)}/s  driver-or-loop ${med(rows, 'self').toFixed(3)}  app ${med(rows, 'app').toFixed(3)}  engine ${med(rows, 'engine').toFixed(3)}  ratio to raw ${(med(rows, 'rate') / med(figures.raw, 'rate')).toFixed(2)}`,
    );
  for (const app of apps) await app.stop();
}

await runScript(main);
