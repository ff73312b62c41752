// `npm run bench:cold-start` (after `npm run build`): issue 15's readiness and cold-start targets on
// the on-disk engine. `/health/ready` latency on an empty table and at COLD_START_ITEMS items, then
// the time from starting the app to its first 200 from `/health/ready` with that table on disk:
// the two-command start (`npm start`'s embedded engine: Java start-up included) and an app whose
// engine already runs (a deployment, where the database outlives the app).
//
// The on-disk engine fsyncs about twice per item (~56 items/s here), so 100,000 items would take
// half an hour to write to disk. The table is written on tmpfs (/dev/shm, where fsync costs
// nothing) by the same engine in the same on-disk mode, then its SQLite file is copied to a disk
// directory, and every start reads it from there. Each start is timed beside a start on an empty
// table, interleaved, so that a busy machine slows both alike.
//
//   COLD_START_ITEMS=100000   table size
//   COLD_START_ROUNDS=3       starts of each kind, interleaved
//   COLD_START_ENGINE=memory  grow the table in an in-memory engine and time only the starts of an app
//                             against that running engine: a deployment's cold start, where the
//                             database outlives the app. The embedded engine's own start from disk
//                             is not measured then.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import {
  call,
  cleanup,
  freePort,
  JWT_SECRET,
  percentile,
  sleep,
  startApp,
  startEngine,
  tempDir,
} from '../reliability/lib.mjs';
import { createFixture, growTo, templateOf } from './capacity.mjs';

const SIZE = Number(process.env.COLD_START_ITEMS ?? 100_000);
const ROUNDS = Number(process.env.COLD_START_ROUNDS ?? 3);
const IN_MEMORY = process.env.COLD_START_ENGINE === 'memory';
const TABLE = 'coldstart';
const ADMIN = { email: 'cold-admin@example.com', password: 'cold-admin-password-1' };
const PROBES = 1000;
const WARM_UP_PROBES = 50;
const SETTLE_MS = 10_000;

const log = (line) => console.log(line);
const ms = (value) => `${value.toFixed(1)} ms`;

/**
 * `PROBES` sequential `GET /health/ready` after `WARM_UP_PROBES` that are not counted: their p50, p99
 * and max, and the first probe's time apart. The first few after a start pay for the JIT of both the
 * app and DynamoDB Local (session 14's p99 of 24-26 ms included them); a probe's steady state is what
 * an orchestrator sees every few seconds for the life of the instance.
 */
async function readiness(base) {
  const times = [];
  const outside = [];
  let first;
  for (let i = 0; i < WARM_UP_PROBES + PROBES; i++) {
    const res = await call(base, 'GET', '/health/ready');
    if (res.status !== 200) throw new Error(`/health/ready answered ${res.status}`);
    if (i === 0) first = res.ms;
    if (i < WARM_UP_PROBES) continue;
    times.push(res.ms);
    // Server-Timing's `db;dur=`: the GetItem's time inside the app; the rest is the app and the HTTP hop.
    const db = Number(/db;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? NaN);
    outside.push(res.ms - db);
  }
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: Math.max(...times),
    first,
    withoutGetItem: { p50: percentile(outside, 50), p99: percentile(outside, 99) },
  };
}

/**
 * Starts `node dist/main.js` with `env` and returns the milliseconds from spawn to the first 200
 * from `/health/ready` (polled every 20 ms), then stops it.
 */
async function timeToReady(env) {
  const app = await startApp(
    { DYNAMODB_TABLE_NAME: TABLE, STREAM_WORKER: 'off', ...env },
    { readyPath: '/health/ready', pollMs: 20 },
  );
  try {
    return app.readyMs;
  } finally {
    await app.stop();
  }
}

const removals = [];

async function main() {
  const scratch = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/cold-start-') : tempDir('cold-start-fast-');
  removals.push(scratch);
  const fastDir = join(scratch, 'dynamodb');
  mkdirSync(fastDir);
  const port = await freePort();
  let engine = await startEngine(IN_MEMORY ? { port } : { dataDir: fastDir, port });
  // No stream worker in the apps here (production's default: it is a process of its own). With it inline,
  // the loader's copies went through it: every copied post of the fixture's one author fanned out to
  // every copied follower of that author, so the table grew quadratically (385,000 items and still
  // growing after 43 minutes, on its way to 100,000 copied ones) and the growth never ended.
  const appEnv = {
    DYNAMODB_ENDPOINT: engine.endpoint,
    DYNAMODB_TABLE_NAME: TABLE,
    MAIL_TRANSPORT: 'log',
    STREAM_WORKER: 'off',
  };
  const app = await startApp({ ...appEnv, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  // The loader's own client waits up to 60 s a call: a BatchWriteItem into a table of tens of thousands of
  // items can take longer than the app's 5 s budget (the 100k run timed out in growTo at load 0.3-1.5).
  const config = loadConfig({ NODE_ENV: 'development', JWT_SECRET, ...appEnv, DYNAMODB_REQUEST_TIMEOUT_MS: '60000' });
  const db = createDocumentClient(createDynamoClient(config.dynamo));

  const empty = await readiness(app.base);
  log(
    `/health/ready on a new table: p50 ${ms(empty.p50)}, p99 ${ms(empty.p99)}, max ${ms(empty.max)} (${PROBES} after ${WARM_UP_PROBES} not counted; the first ${ms(empty.first)}); without the GetItem's own time: p50 ${ms(empty.withoutGetItem.p50)}, p99 ${ms(empty.withoutGetItem.p99)}`,
  );
  const signIn = await call(app.base, 'POST', '/api/v1/auth/login', { body: ADMIN });
  if (signIn.status !== 200) throw new Error(`admin sign-in: ${signIn.status} ${signIn.text}`);
  const fixture = await createFixture(app.base, { token: signIn.json.accessToken, userId: signIn.json.user.id });
  const template = await templateOf(db, TABLE, fixture);
  const growStarted = Date.now();
  const items = await growTo(db, TABLE, template, template.tableItems, SIZE);
  log(
    `table grown to about ${items} items in ${((Date.now() - growStarted) / 1000).toFixed(1)} s (${IN_MEMORY ? 'in memory' : 'tmpfs'})`,
  );
  // The engine has just taken 100k writes: let its JVM's collector settle, as a table at rest would be.
  await sleep(SETTLE_MS);
  const full = await readiness(app.base);
  log(
    `/health/ready at ${items} items: p50 ${ms(full.p50)}, p99 ${ms(full.p99)}, max ${ms(full.max)} (${PROBES} after ${WARM_UP_PROBES} not counted; the first ${ms(full.first)}); without the GetItem's own time: p50 ${ms(full.withoutGetItem.p50)}, p99 ${ms(full.withoutGetItem.p99)}`,
  );
  await app.stop();
  if (IN_MEMORY) {
    // The same engine keeps both tables; an empty one is created by a first start, not counted.
    const start = (table) =>
      timeToReady({ DYNAMODB_ENDPOINT: engine.endpoint, DYNAMODB_TABLE_NAME: table, MAIL_TRANSPORT: 'log' });
    await start(`${TABLE}-empty`);
    const running = { empty: [], full: [] };
    for (let round = 0; round < ROUNDS; round++) {
      running.empty.push(await start(`${TABLE}-empty`));
      running.full.push(await start(TABLE));
    }
    return report({ engine: 'memory', items, readiness: { empty, full }, startToReadyMs: { running } });
  }
  await engine.stop();

  // The table's file onto the disk; every start below reads it from there.
  const diskParent = mkdtempSync(join(tmpdir(), 'cold-start-disk-'));
  removals.push(diskParent);
  const diskDir = join(diskParent, 'dynamodb');
  cpSync(fastDir, diskDir, { recursive: true });

  // The same starts on an empty table (created by a first start that is not counted), interleaved
  // with the full one's, so a loaded machine slows both alike: the target is a start that does not
  // grow with the table.
  const emptyParent = mkdtempSync(join(tmpdir(), 'cold-start-empty-'));
  removals.push(emptyParent);
  const emptyDir = join(emptyParent, 'dynamodb');
  const embedded = (dataDir) =>
    timeToReady({ DYNAMODB_EMBEDDED: 'true', DYNAMODB_EMBEDDED_DATA_DIR: dataDir, MAIL_TRANSPORT: 'log' });
  const againstRunning = async (dataDir) => {
    const running = await startEngine({ dataDir, port });
    try {
      return await timeToReady({ DYNAMODB_ENDPOINT: running.endpoint, MAIL_TRANSPORT: 'log' });
    } finally {
      await running.stop();
    }
  };
  await embedded(emptyDir);
  const starts = { embedded: { empty: [], full: [] }, running: { empty: [], full: [] } };
  for (let round = 0; round < ROUNDS; round++) {
    // `npm start`: the app starts its own engine on the data directory (Java start-up included).
    starts.embedded.empty.push(await embedded(emptyDir));
    starts.embedded.full.push(await embedded(diskDir));
    // A deployment: the engine is up; the app starts against it.
    starts.running.empty.push(await againstRunning(emptyDir));
    starts.running.full.push(await againstRunning(diskDir));
  }
  engine = await startEngine({ dataDir: diskDir, port });
  const again = await startApp({
    DYNAMODB_ENDPOINT: engine.endpoint,
    DYNAMODB_TABLE_NAME: TABLE,
    MAIL_TRANSPORT: 'log',
  });
  const fromDisk = await readiness(again.base);
  log(`/health/ready at ${items} items, engine on disk: p50 ${ms(fromDisk.p50)}, p99 ${ms(fromDisk.p99)}`);

  report({ engine: 'disk', items, readiness: { empty, full, fromDisk }, startToReadyMs: starts });
}

/** Prints the start times and writes the whole result under bench/results/. */
function report({ engine, items, readiness: probes, startToReadyMs }) {
  const seconds = (list) => `${list.map((value) => (value / 1000).toFixed(2)).join(', ')} s`;
  if (startToReadyMs.embedded) {
    log(
      `start to ready, npm start (embedded engine on disk): empty ${seconds(startToReadyMs.embedded.empty)}; ${items} items ${seconds(startToReadyMs.embedded.full)}`,
    );
  }
  log(
    `start to ready, engine already running (${engine === 'memory' ? 'in memory' : 'on disk'}): empty ${seconds(startToReadyMs.running.empty)}; ${items} items ${seconds(startToReadyMs.running.full)}`,
  );
  log(
    `load average at the end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );

  const result = {
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    engine,
    items,
    readiness: probes,
    startToReadyMs,
    loadAverage: loadavg(),
  };
  mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true });
  const file = new URL(`../../bench/results/cold-start-${result.at.replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`written ${file.pathname}`);
}

try {
  await main();
} finally {
  await cleanup();
  for (const dir of removals) rmSync(dir, { recursive: true, force: true });
}
