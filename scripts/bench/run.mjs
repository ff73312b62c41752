// `npm run bench` (after `npm run build`, which the npm pre-script runs): the built app on a
// DynamoDB Local of its own (in memory), measured from outside. Prints tables and writes JSON
// under bench/results/. Not part of `npm test`; docs/performance.md summarises its latest run.
//
//   BENCH_SIZES=1000,10000,100000   table sizes (items) at which the capacity patterns are measured
//   BENCH_SECONDS=3                 length of each closed-loop run (3 interleaved rounds each)
//   BENCH_CONCURRENCY=16            callers in each closed loop
//   BENCH_PIN=1                     also run the app-against-raw comparisons with DynamoDB Local's JVM
//                                   pinned to core 1 and the measured side (app and this process, its
//                                   driver and raw loop) to core 0, interleaved with the unpinned
//                                   runs; prints both (needs taskset and 2 cores; off by default)
//   BENCH_DRIVER=http               how the app-against-raw comparisons send their requests to the app:
//                                   node:http with keep-alive sockets (`http`, since session 19), or
//                                   fetch with each answer parsed (`fetch`, as before; about 0.2-0.4 ms
//                                   more of the bench process's CPU a request, on the measured core)
//   BENCH_ONLY=app-against-raw      only the app-against-raw comparisons (about a minute, 2 with BENCH_PIN):
//                                   no capacity patterns, sign-ins, CPU or cached page; the table holds
//                                   the fixture and 19 copies of its post (the full run's loader), so
//                                   that the feed rows read a full page of 20, as the full run's do
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import { call, JWT_SECRET, register, runScript, sleep, startApp, startEngine } from '../reliability/lib.mjs';
import { createFixture, documentedCalls, growTo, measurePatterns, templateOf } from './capacity.mjs';
import { judgeGrowth } from './growth.mjs';
import { corePinning } from './pin.mjs';
import {
  appAgainstRaw,
  cachedAgainstExpress,
  cpuPerRequest,
  DRIVERS,
  loginsAgainstBcrypt,
  round2,
} from './throughput.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const OPTIONS = {
  rounds: 3,
  seconds: Number(process.env.BENCH_SECONDS ?? 3),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
};
const PIN = process.env.BENCH_PIN === '1';
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'app-against-raw')
  throw new Error(`BENCH_ONLY: "app-against-raw" or unset, not ${JSON.stringify(ONLY)}`);
const RAW_ONLY = ONLY === 'app-against-raw';
const DRIVER = process.env.BENCH_DRIVER ?? 'http';
if (!DRIVERS.includes(DRIVER)) throw new Error(`BENCH_DRIVER: ${DRIVERS.join(' or ')}, not ${JSON.stringify(DRIVER)}`);
const BCRYPT_COST = 10;
const TABLE = 'bench';
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };

const log = (line) => console.log(line);
const pad = (value, width) => String(value).padEnd(width);

async function main() {
  const started = Date.now();
  const engine = await startEngine({});
  const appEnv = {
    DYNAMODB_ENDPOINT: engine.endpoint,
    DYNAMODB_TABLE_NAME: TABLE,
    BCRYPT_COST: String(BCRYPT_COST),
    MAIL_TRANSPORT: 'log',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  const noWorker = { STREAM_WORKER: 'off' };
  // The throughput runs sign in and write far past the per-account and per-IP limits.
  const unlimited = {
    LOGIN_RATE_MAX_PER_ACCOUNT: '0',
    LOGIN_RATE_MAX_PER_IP: '0',
    REGISTER_RATE_MAX_PER_IP: '0',
    CONTENT_RATE_LIMIT_PER_MINUTE: '0',
  };
  // The capacity app has the default limits (their counters are part of a sign-in's cost) and
  // answers every read from DynamoDB (no public page cache), so each pattern's cost shows.
  // Comments are approved at once (the bench's reader has not verified an email, and the default
  // policy holds such comments for moderation: a pending comment also writes its moderation-queue
  // entry, 12 WCU against 8, test/write-costs.e2e-spec.ts).
  let app = await startApp({ ...appEnv, PUBLIC_CACHE_SECONDS: '0', COMMENT_AUTO_APPROVE: 'all' });
  const config = loadConfig({ NODE_ENV: 'development', JWT_SECRET, ...appEnv });
  const db = createDocumentClient(createDynamoClient(config.dynamo));
  // The loader's own client waits up to 60 s a call (as bench:cold-start's and bench:peer's do): while
  // the app's stream worker fans the copied posts out, a BatchWriteItem outlasted the app's 5 s budget
  // and the run stopped growing the table at 10k items (2026-11-27, on a quiet machine). `db` keeps
  // the app's settings: the raw throughput loops below must use the same client as the app.
  const loaderConfig = loadConfig({
    NODE_ENV: 'development',
    JWT_SECRET,
    ...appEnv,
    DYNAMODB_REQUEST_TIMEOUT_MS: '60000',
  });
  const loader = createDocumentClient(createDynamoClient(loaderConfig.dynamo));

  const signIn = await call(app.base, 'POST', '/api/v1/auth/login', { body: ADMIN });
  if (signIn.status !== 200) throw new Error(`admin sign-in: ${signIn.status} ${signIn.text}`);
  const admin = { token: signIn.json.accessToken, userId: signIn.json.user.id };
  const fixture = await createFixture(app.base, admin);
  const template = await templateOf(loader, TABLE, fixture);
  log(`fixture: ${template.tableItems} items; a copy of the template is ${template.items.length} items`);
  // The table grows and is measured on an app without the stream worker (production's default: a
  // process of its own), once it has done the fixture's work (timelines, counts). Inline, it fanned
  // each copied post of the fixture's one author out to every copied follower of that author: the
  // growth slowed quadratically (1k to 10k items in 152 s, 2026-11-27, and 100k out of reach), and the
  // copies' records would have been consumed by the throughput apps below, inside their CPU figures.
  await sleep(15_000);
  await app.stop();
  app = await startApp({ ...appEnv, ...noWorker, PUBLIC_CACHE_SECONDS: '0', COMMENT_AUTO_APPROVE: 'all' });

  // BENCH_ONLY=app-against-raw: a full page of the global feed, as in the full run, whose table holds
  // 100k items by then: the fixture's post and copies of it, written by the full run's loader.
  const rows = RAW_ONLY
    ? await fullFeedPage({ app, loader, template })
    : await capacityAtEachSize({ app, loader, fixture, template });

  await app.stop();
  app = await startApp({ ...appEnv, ...noWorker, ...unlimited, PUBLIC_CACHE_SECONDS: '0' });

  // Throughput: the app against the raw calls its routes make.
  const pinning = PIN ? corePinning({ engine: engine.process.pid, measured: [process.pid, app.child.pid] }) : undefined;
  const raw = await appAgainstRaw({
    base: app.base,
    db,
    tableName: TABLE,
    fixture,
    options: OPTIONS,
    pinning,
    driver: DRIVER,
  });
  log(
    `\nRequests per second, app against the raw DynamoDB calls of the route (median of 3, min-max; the app's driver: ${DRIVER}):`,
  );
  if (pinning)
    log(
      `  (pinned: DynamoDB Local on core ${pinning.cores.engine}, the app, its driver and the raw loop on core ${pinning.cores.measured}; the unpinned rows share both cores, as without BENCH_PIN)`,
    );
  const nameWidth = Math.max(44, ...Object.keys(raw).map((name) => name.length + 1));
  for (const [name, r] of Object.entries(raw))
    log(
      `  ${pad(name, nameWidth)} app ${r.app.median} (${r.app.min}-${r.app.max})  raw ${r.raw.median} (${r.raw.min}-${r.raw.max})  ratio ${r.ratio} (target >= ${r.target})`,
    );
  if (RAW_ONLY) {
    await app.stop();
    return write({ started, only: ONLY, appAgainstRaw: raw }, rows);
  }

  // Sign-ins against bcrypt's bound.
  const hashThreads = Math.max(1, availableParallelism() - 1); // PASSWORD_HASH_CONCURRENCY's default
  const logins = await loginsAgainstBcrypt({
    base: app.base,
    fixture,
    cost: BCRYPT_COST,
    hashThreads,
    options: OPTIONS,
  });
  log(
    `\nSign-ins: ${logins.loginsPerSecond}/s against bcrypt's bound ${logins.boundPerSecond}/s (${hashThreads} hashing thread(s), ${logins.compareMs} ms a comparison at cost ${BCRYPT_COST}): ratio ${logins.ratio} (target >= ${logins.target})`,
  );

  // CPU per request of the app process.
  const readers = await Promise.all(
    Array.from({ length: OPTIONS.concurrency }, (_, i) => register(app.base, `cpu-${i}`)),
  );
  const postId = fixture.post.id;
  const status = (res) => res.status >= 200 && res.status < 300;
  const cpu = await cpuPerRequest({
    pid: app.child.pid,
    concurrency: OPTIONS.concurrency,
    count: 200,
    operations: {
      'list of 20 (GET /posts)': async () => status(await call(app.base, 'GET', '/api/v1/posts?limit=20')),
      'one post (GET /posts/{id})': async () => status(await call(app.base, 'GET', `/api/v1/posts/${postId}`)),
      'like or unlike': async (i) =>
        status(
          await call(
            app.base,
            i % 2 ? 'DELETE' : 'PUT',
            `/api/v1/posts/${postId}/like`,
            readers[Math.floor(i / 2) % readers.length],
          ),
        ),
    },
  });
  const cpuBcrypt = await cpuPerRequest({
    pid: app.child.pid,
    concurrency: OPTIONS.concurrency,
    count: 40,
    operations: {
      login: async (i) =>
        status(
          await call(app.base, 'POST', '/api/v1/auth/login', {
            body: { email: readers[i % readers.length].email, password: 'password-1234' },
          }),
        ),
      register: async () =>
        status(
          await call(app.base, 'POST', '/api/v1/auth/register', {
            body: { email: `cpu-${Math.random().toString(36).slice(2)}@example.com`, password: 'password-1234' },
          }),
        ),
    },
  });
  const cpuRows = {
    ...cpu,
    ...Object.fromEntries(
      Object.entries(cpuBcrypt).map(([name, ms]) => [
        name,
        { total: ms, withoutBcrypt: round2(ms - logins.compareMs) },
      ]),
    ),
  };
  log("\nApp process CPU per request (user + system, ms; one bcrypt comparison's CPU subtracted where it runs):");
  for (const [name, value] of Object.entries(cpuRows))
    log(
      `  ${pad(name, 30)} ${typeof value === 'number' ? value : `${value.total} (${value.withoutBcrypt} without bcrypt)`}`,
    );
  await app.stop();

  // The cached anonymous front page against express answering the same bytes.
  const cachedApp = await startApp({ ...appEnv, ...noWorker, ...unlimited, PUBLIC_CACHE_SECONDS: '5' });
  const cached = await cachedAgainstExpress({ base: cachedApp.base, options: OPTIONS });
  log(
    `\nCached front page: app ${cached.app.median}/s (${cached.app.min}-${cached.app.max}), bare express ${cached.express.median}/s (${cached.express.min}-${cached.express.max}): ratio ${cached.ratio} (target >= ${cached.target})`,
  );
  await cachedApp.stop();

  return write(
    {
      started,
      appAgainstRaw: raw,
      logins,
      cpuPerRequestMs: cpuRows,
      cachedAgainstExpress: cached,
    },
    rows,
  );
}

/** The feed page the app-against-raw comparisons read: a page of this many posts. */
const FEED_PAGE = 20;

/**
 * Copies the fixture's post (with its reader and comment: `growTo`, the full run's loader) until
 * the global feed holds a full page, and checks that it does; returns no capacity rows.
 */
async function fullFeedPage({ app, loader, template }) {
  const posts = template.items.filter((item) => item.entity === 'Post').length;
  const copies = Math.ceil((FEED_PAGE - posts) / posts);
  const items = await growTo(
    loader,
    TABLE,
    template,
    template.tableItems,
    template.tableItems + copies * template.items.length,
  );
  const page = await call(app.base, 'GET', `/api/v1/posts?limit=${FEED_PAGE}`);
  const listed = page.json?.items?.length;
  if (listed !== FEED_PAGE) throw new Error(`the global feed holds ${listed} posts after the copies, not ${FEED_PAGE}`);
  log(
    `table grown to ${items} items (${copies} copies of the fixture's post): the global feed holds a page of ${listed}`,
  );
  return [];
}

/** Grows the table to each of SIZES and measures every pattern there; prints and returns the rows. */
async function capacityAtEachSize({ app, loader, fixture, template }) {
  const capacity = [];
  let items = template.tableItems;
  for (const [round, size] of SIZES.entries()) {
    const growStarted = Date.now();
    items = await growTo(loader, TABLE, template, items, size);
    log(`table grown to about ${items} items in ${((Date.now() - growStarted) / 1000).toFixed(1)} s`);
    capacity.push({
      items,
      patterns: await measurePatterns(app.base, fixture, round + 1, { db: loader, tableName: TABLE }),
    });
  }
  const documented = documentedCalls();
  const rows = capacity[0].patterns.map((first, i) => {
    const bySize = capacity.map((c) => c.patterns[i]);
    const { grows, why } = judgeGrowth({ kind: first.kind, bySize, bound: first.bound });
    const reached = bySize.findIndex((c) => c.atBound);
    return {
      row: first.row,
      name: first.name,
      signedIn: first.signedIn,
      documentedCalls: documented.get(first.row) ?? '?',
      bySize: bySize.map(({ calls, rcu, wcu, listed, atBound }) => ({ calls, rcu, wcu, listed, atBound })),
      ...(first.bound
        ? {
            bound: {
              pattern: first.bound.pattern,
              about: first.bound.about,
              reachedAt: reached === -1 ? null : capacity[reached].items,
            },
          }
        : {}),
      grows,
      judged: why,
      sizes: capacity.map((c) => c.items),
    };
  });
  log(
    "\nCapacity per request (calls / RCU / WCU) at each table size. docs: data-model.md's calls column,\n" +
      "which leaves out the guard's BatchGetItem of a signed-in request (*: signed in, one call more)",
  );
  log(
    `${pad('#', 4)}${pad('pattern', 36)}${pad('docs', 28)}${capacity.map((c) => pad(`${c.items} items`, 18)).join('')}grows`,
  );
  for (const r of rows)
    log(
      `${pad(r.row, 4)}${pad(`${r.name}${r.signedIn ? ' *' : ''}`, 36)}${pad(r.documentedCalls.slice(0, 26), 28)}${r.bySize
        .map((c) => pad(`${c.calls} / ${c.rcu} / ${c.wcu}`, 18))
        .join('')}${r.grows ? `YES (${r.judged})` : r.bound ? `no, bounded (${boundNote(r.bound)})` : 'no'}`,
    );
  return rows;
}

/** Where a bounded pattern's bound was reached, for the table's last column. */
const boundNote = (bound) =>
  bound.reachedAt === null ? `not reached: ${bound.about} at no size` : `${bound.about} from ${bound.reachedAt} items`;

/** Writes the run's JSON under bench/results/ and flags the patterns that grow. */
function write({ started, only, ...parts }, rows) {
  const seconds = Math.round((Date.now() - started) / 1000);
  const result = {
    at: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    seconds,
    options: {
      sizes: only ? [] : SIZES,
      ...OPTIONS,
      bcryptCost: BCRYPT_COST,
      ...(PIN ? { pin: true } : {}),
      driver: DRIVER,
      ...(only ? { only } : {}),
    },
    ...(only ? {} : { capacity: rows }),
    ...parts,
  };
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${result.at.slice(0, 19).replace(/:/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`\n${seconds} s; written to ${file}`);
  const growing = rows.filter((r) => r.grows);
  if (growing.length) {
    log(`Patterns whose cost grows with the table: ${growing.map((r) => `${r.name} (${r.judged})`).join(', ')}`);
    process.exitCode = 1;
  }
}

await runScript(main);
