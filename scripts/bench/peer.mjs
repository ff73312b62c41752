// `npm run bench:peer`: app-process CPU per request, ours against a peer (a NestJS RealWorld
// backend on PostgreSQL through TypeORM, bench/peer/), on the same data: 1,000 users and 5,000 posts
// with 3 tags each, plus the bench's own signed-in users. Both apps run side by side; each round
// measures ours, then the peer (interleaved, so that a drifting machine load affects both alike, roughly).
// The figure is the app process's utime + stime from /proc over a fixed number of requests at 16
// callers, after a warm-up: CPU time, far less disturbed by the machine's load than wall-clock
// figures (which are not taken here), though not immune to it (docs/performance.md). The database
// engines (DynamoDB Local, PostgreSQL) are other processes and are not counted on either side.
//
// bcrypt is excluded from the comparison: both apps hash with the same native package, so at one
// cost it costs the same in both. Both run at BCRYPT_COST=4 (a hash or comparison is about 1 ms
// of CPU there, against ~60 ms at 10, whose noise alone would hide the rest of a sign-in); the
// CPU of one comparison (login) or one hash (register) at cost 4, measured in this process, is
// subtracted for the figure "without bcrypt", and the same at cost 10 added back for "with bcrypt
// at cost 10".
//
// Needs the peer's packages: `npm install --prefix bench/peer` (once), and PostgreSQL (initdb and
// postgres; PG_BIN to point at them).
//   BENCH_PEER_ROUNDS=3          rounds (ours then the peer in each)
//   DYNAMODB_CLIENT=sdk          our app on the AWS SDK's transport instead of its default
//   BENCH_PEER_COUNT=600         requests per operation and round (list, one post, like/unlike)
//   BENCH_PEER_AUTH_COUNT=100    requests per round for login and register (bcrypt-bound)
//   BENCH_CONCURRENCY=16         callers
//   BENCH_CPU_PROF=dir           also write a V8 CPU profile of our app into dir (--cpu-prof)
//   BENCH_PEER_PRODUCTION=1      also a second app of ours on the same data with production's caching
//                                (PRODUCTION_CACHING in peer-env.mjs), measured in the same rounds and
//                                printed as extra rows "ours, production caching" with its DynamoDB
//                                calls per request; the rows above stay the like-for-like comparison
//   BENCH_PEER_POSTS=5000        posts loaded on each side (fewer for a quick check of the script)
//   BENCH_PEER_REWARM=200        reads of each side, not measured, just before its measured batch in each round
//                                (0: none, as before session 23)
//   BENCH_PEER_BARE=1            the floor (`npm run bench:floor`): also our services and data layer behind a
//                                bare node:http server (scripts/bench/bare-app.mjs, on the same table) and the
//                                DynamoDB calls of each request alone in a process of their own
//                                (scripts/bench/calls-alone.mjs), measured in the same rounds and printed as
//                                the split "framework and middleware" (ours - bare) against "services and
//                                data layer" (bare), with each one's ratio to the peer
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { cpus, totalmem } from 'node:os';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import bcrypt from 'bcrypt';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import { call, cleanup, JWT_SECRET, percentile, register, startApp, startEngine } from '../reliability/lib.mjs';
import { newId, putAll, replacer, substitute } from './capacity.mjs';
import { fillToCap, likeStep, nextSignIn, signInPool } from './operations.mjs';
import { PRODUCTION_CACHING, peerComparisonEnv } from './peer-env.mjs';
import { startPostgres } from './postgres.mjs';
import { cpuPartsOf, cpuPerRequest, round2 } from './throughput.mjs';

const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const COUNT = Number(process.env.BENCH_PEER_COUNT ?? 600);
const AUTH_COUNT = Number(process.env.BENCH_PEER_AUTH_COUNT ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PROF = process.env.BENCH_CPU_PROF;
const PRODUCTION = process.env.BENCH_PEER_PRODUCTION === '1';
const BARE = process.env.BENCH_PEER_BARE === '1';
const REWARM = Number(process.env.BENCH_PEER_REWARM ?? 200);
const USERS = 1000;
const POSTS = Number(process.env.BENCH_PEER_POSTS ?? 5000);
// The operations use 17 posts (16 liked and unliked, one for the cost probe) and list 20.
if (!(POSTS >= 20)) throw new Error(`BENCH_PEER_POSTS: 20 or more, not ${process.env.BENCH_PEER_POSTS}`);
/** The name of the rows of our second app (BENCH_PEER_PRODUCTION=1). */
const PRODUCTION_SIDE = 'ours, production caching';
/** The rows of the bare app and of the calls alone (BENCH_PEER_BARE=1). */
const BARE_SIDE = 'ours, bare';
const ALONE_SIDE = 'calls alone';
const BARE_MAIN = 'scripts/bench/bare-app.mjs';
const ALONE_MAIN = 'scripts/bench/calls-alone.mjs';
const TAGS = ['benchmarks', 'databases', 'nestjs'];
const BCRYPT_COST = 4; // what both apps hash with here
const REAL_BCRYPT_COST = 10; // what "with bcrypt" is reported at
const PASSWORD = 'password-1234';
const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);
const TABLE = 'bench';
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };
const PEER_MAIN = 'bench/peer/src/main.mjs';

const log = (line) => console.log(line);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const ok = (res) => res.status >= 200 && res.status < 300;
const must = (res, what) => {
  if (!ok(res)) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
};
/** An answer's DynamoDB calls / RCU / WCU (`Server-Timing`, on in development), if it has them. */
const costOf = (res) => {
  const m = /calls=(\d+) rcu=([\d.]+) wcu=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  return m ? { calls: Number(m[1]), rcu: Number(m[2]), wcu: Number(m[3]) } : undefined;
};

/**
 * `call`, adding each answer's DynamoDB usage to `tally[operation]`: the calls per request of an
 * operation over a whole run, cache hits (0 calls) and misses alike.
 */
const countingCall =
  (tally) =>
  (operation) =>
  async (...args) => {
    const res = await call(...args);
    const cost = costOf(res);
    if (!cost) throw new Error(`${operation}: no Server-Timing on a ${res.status} answer`);
    const sum = (tally[operation] ??= { requests: 0, calls: 0, rcu: 0, wcu: 0 });
    sum.requests++;
    for (const key of ['calls', 'rcu', 'wcu']) sum[key] += cost[key];
    return res;
  };

/** Our app on an in-memory DynamoDB Local, loaded with the data set. */
async function startOurs() {
  const engine = await startEngine({});
  const env = peerComparisonEnv({ endpoint: engine.endpoint, tableName: TABLE, bcryptCost: BCRYPT_COST, admin: ADMIN });
  const nodeArgs = PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`, '--cpu-prof-name=ours.cpuprofile'] : [];
  const app = await startApp(env, { nodeArgs });
  // The loader's client waits longer than the app's 5 s: a BatchWriteItem of 25 on a busy machine can take that.
  const config = loadConfig({ NODE_ENV: 'development', JWT_SECRET, ...env, DYNAMODB_REQUEST_TIMEOUT_MS: '60000' });
  const db = createDocumentClient(createDynamoClient(config.dynamo));

  const admin = must(await call(app.base, 'POST', '/api/v1/auth/login', { body: ADMIN }), 'admin sign-in');
  const tagIds = [];
  for (const name of TAGS)
    tagIds.push(
      must(await call(app.base, 'POST', '/api/v1/tags', { token: admin.accessToken, body: { name } }), 'tag').id,
    );
  const author = await register(app.base, 'bench-author');
  const template = await register(app.base, 'bench-template');
  const created = must(
    await call(app.base, 'POST', '/api/v1/posts', {
      token: author.token,
      body: { title: 'Template post', content: BODY, tagIds },
    }),
    'create post',
  );
  must(await call(app.base, 'POST', `/api/v1/posts/${created.id}/publish`, { token: author.token }), 'publish');

  // The bulk load: the template user's and the template post's items copied under new ids (the
  // post's author becomes one of the copied users), 25 items a BatchWriteItem.
  const items = await scanAll(db);
  const naming = (id, entities) =>
    items.filter((item) => entities.includes(item.entity) && JSON.stringify(item, replacer).includes(id));
  const userItems = naming(template.userId, ['User', 'Profile', 'UserLogin']);
  const postItems = naming(created.id, ['Post', 'PostContent', 'PostCounts', 'PostLink']);
  const userIds = Array.from({ length: USERS }, () => newId());
  const postIds = [created.id, ...Array.from({ length: POSTS - 1 }, () => newId())];
  const copies = [];
  for (const id of userIds) for (const item of userItems) copies.push(substitute(item, [template.userId], [id]));
  for (const [i, id] of postIds.entries()) {
    if (i === 0) continue;
    const to = [id, userIds[i % USERS]];
    for (const item of postItems) copies.push(substitute(item, [created.id, author.userId], to));
  }
  const started = Date.now();
  await putAll(db, TABLE, copies);
  log(
    `ours: ${copies.length} items written in ${((Date.now() - started) / 1000).toFixed(1)} s (a user is ${userItems.length} items: ${userItems.map((i) => i.entity).join(', ')}; a post ${postItems.length}: ${postItems.map((i) => i.entity).join(', ')})`,
  );
  return { app, postIds, env };
}

async function scanAll(db) {
  const items = [];
  let ExclusiveStartKey;
  do {
    const page = await db.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** The peer on a throw-away PostgreSQL cluster, loaded with the same data set in SQL. */
async function startPeer(pg) {
  const env = { PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: 'postgres', PGDATABASE: 'peer' };
  const app = await startApp({ ...env, BCRYPT_COST: String(BCRYPT_COST) }, { main: PEER_MAIN });
  // One hash for the bulk users (at the same cost; nobody signs in as them).
  const hash = await bcrypt.hash(PASSWORD, BCRYPT_COST);
  const started = Date.now();
  pg.psql(`
    INSERT INTO users (username, email, bio, password)
      SELECT 'user' || i, 'user' || i || '@example.com', '', '${hash}' FROM generate_series(1, ${USERS}) AS i;
    INSERT INTO tags (name) VALUES ${TAGS.map((t) => `('${t}')`).join(', ')};
    INSERT INTO articles (slug, title, description, body, "tagList", "authorId", "createdAt", "updatedAt")
      SELECT 'post-' || i, 'Post ' || i, 'What post ' || i || ' is about.', '${BODY}', '${TAGS.join(',')}',
             (SELECT min(id) FROM users) + i % ${USERS}, now() - i * interval '1 second', now() - i * interval '1 second'
      FROM generate_series(1, ${POSTS}) AS i;
    ANALYZE;`);
  log(`peer: ${USERS} users and ${POSTS} articles inserted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { app, slugs: Array.from({ length: POSTS }, (_, i) => `post-${i + 1}`) };
}

/**
 * The six operations on each side, as functions of the request's number. Readers 0-15 like, 16-31 sign in at the
 * session cap: such a sign-in ends its user's oldest session (MAX_SESSIONS_PER_USER), whose token a like could be
 * using. "login" signs in the users of a pool below the cap (scripts/bench/operations.mjs), the common case.
 */
function oursOperations(base, ours, readers, signIns, send = () => call) {
  const post = (i) => ours.postIds[i % 16];
  const likes = likeStep(readers);
  return {
    reads: {
      'list of 20': async () => ok(await send('list of 20')(base, 'GET', '/api/v1/posts?limit=20')),
      'one post': async (i) => ok(await send('one post')(base, 'GET', `/api/v1/posts/${post(i)}`)),
      // Each reader likes and unlikes in turn, never two at once (operations.mjs, `likeStep`).
      'like/unlike': (i) =>
        likes(i, async (like, reader, p) =>
          ok(
            await send('like/unlike')(base, like ? 'PUT' : 'DELETE', `/api/v1/posts/${post(p)}/like`, {
              token: readers[reader].token,
            }),
          ),
        ),
    },
    auth: {
      login: async () =>
        ok(
          await send('login')(base, 'POST', '/api/v1/auth/login', {
            body: { email: nextSignIn(signIns).email, password: PASSWORD },
          }),
        ),
      'login at the cap': async (i) =>
        ok(
          await send('login at the cap')(base, 'POST', '/api/v1/auth/login', {
            body: { email: readers[16 + (i % 16)].email, password: PASSWORD },
          }),
        ),
      register: async () =>
        ok(
          await send('register')(base, 'POST', '/api/v1/auth/register', {
            body: { email: `r-${newId()}@example.com`.toLowerCase(), password: PASSWORD },
          }),
        ),
    },
  };
}

function peerOperations(base, peer, readers) {
  const slug = (i) => peer.slugs[i % 16];
  const likes = likeStep(readers);
  return {
    reads: {
      'list of 20': async () => ok(await call(base, 'GET', '/api/articles?limit=20')),
      'one post': async (i) => ok(await call(base, 'GET', `/api/articles/${slug(i)}`)),
      'like/unlike': (i) =>
        likes(i, async (like, reader, p) =>
          ok(
            await call(base, like ? 'POST' : 'DELETE', `/api/articles/${slug(p)}/favorite`, {
              headers: { authorization: `Token ${readers[reader].token}` },
            }),
          ),
        ),
    },
    auth: {
      // The peer has no session cap: both sign-in rows are the same request there.
      login: async (i) =>
        ok(
          await call(base, 'POST', '/api/users/login', {
            body: { user: { email: readers[16 + (i % 16)].email, password: PASSWORD } },
          }),
        ),
      'login at the cap': async (i) =>
        ok(
          await call(base, 'POST', '/api/users/login', {
            body: { user: { email: readers[16 + (i % 16)].email, password: PASSWORD } },
          }),
        ),
      register: async () => {
        const name = `r${newId()}`.toLowerCase();
        return ok(
          await call(base, 'POST', '/api/users', {
            body: { user: { username: name, email: `${name}@example.com`, password: PASSWORD } },
          }),
        );
      },
    },
  };
}

/**
 * Our second app (BENCH_PEER_PRODUCTION=1): on the same table as `ours` (the same data), with
 * production's caching, and readers and sign-in users of its own (the like steps and the session
 * cap are per user); its operations count their DynamoDB calls into `tally`.
 */
async function startProductionSide(ours, signInsNeeded) {
  const tally = {};
  const env = { ...ours.env, ...PRODUCTION_CACHING };
  const side = await startAnotherOurs(ours, { env, tag: 'prod', signInsNeeded, send: countingCall(tally) });
  return { ...side, tally };
}

/**
 * Another app of ours on the same table as `ours` (`main`: dist/main.js unless given), with readers and
 * sign-in users of its own, registered and signed in through it.
 */
async function startAnotherOurs(ours, { env = ours.env, main, tag, signInsNeeded, send }) {
  const app = await startApp(env, main ? { main } : {});
  const readers = await Promise.all(Array.from({ length: 32 }, (_, i) => register(app.base, `${tag}-reader${i}`)));
  const signIns = await signInPool(app.base, signInsNeeded, (i) => register(app.base, `${tag}-signer${i}`));
  await fillToCap(
    app.base,
    readers.slice(16).map((reader) => reader.email),
  );
  return { app, readers, signIns, ops: oursOperations(app.base, ours, readers, signIns, send) };
}

/** The bare app's DynamoDB calls so far (scripts/bench/bare-app.mjs) and the commands it recorded. */
async function bareCalls(base) {
  const { count, recorded } = must(await call(base, 'GET', '/__bare/calls'), 'bare calls');
  return { count, recorded: deserialize(Buffer.from(recorded, 'base64')) };
}

/** The DynamoDB calls one request makes in the bare app, as its own count says. */
async function countedOnBare(base, what, send) {
  const before = (await bareCalls(base)).count;
  must(await send(), what);
  return (await bareCalls(base)).count - before;
}

/** The commands and inputs of one request to the bare app. */
async function recordedOnBare(base, what, send) {
  must(await call(base, 'POST', '/__bare/record'), 'bare record');
  const res = await send();
  must(res, what);
  return { res, calls: (await bareCalls(base)).recorded };
}

/** The calls per request of each operation on the bare app, sent one at a time, as `costs` counts ours. */
async function bareCallCounts(bare, ours) {
  const base = bare.app.base;
  const untouched = ours.postIds[16];
  const token = bare.readers[0].token;
  const counts = {};
  const count = async (name, method, path, options) =>
    (counts[name] = await countedOnBare(base, name, () => call(base, method, path, options)));
  await count('list of 20', 'GET', '/api/v1/posts?limit=20');
  await count('one post', 'GET', `/api/v1/posts/${ours.postIds[1]}`);
  await count('like', 'PUT', `/api/v1/posts/${untouched}/like`, { token });
  await count('unlike', 'DELETE', `/api/v1/posts/${untouched}/like`, { token });
  await count('login', 'POST', '/api/v1/auth/login', {
    body: { email: nextSignIn(bare.signIns).email, password: PASSWORD },
  });
  await count('login at the cap', 'POST', '/api/v1/auth/login', {
    body: { email: bare.readers[16].email, password: PASSWORD },
  });
  await count('register', 'POST', '/api/v1/auth/register', {
    body: { email: `c-${newId()}@example.com`.toLowerCase(), password: PASSWORD },
  });
  return counts;
}

/** The item a transaction puts whose `entity` is `entity`, in recorded calls. */
const putOf = (calls, entity) =>
  calls.flatMap(({ input }) => input.TransactItems ?? []).find((item) => item.Put?.Item?.entity === entity)?.Put.Item;

/**
 * What the calls-alone process sends for each operation (scripts/bench/calls-alone.mjs says how a plan
 * is read), recorded from one request of each to the bare app, by users of its own: the list; one post
 * of each of the 16 the bench reads; a like and an unlike by each of 16 readers of one post each; a
 * sign-in below the cap (a new session each time, the sign-in item's update on a new key); a
 * registration (new user, session, email and mail request each time). Not "login at the cap": its
 * eviction of the oldest session holds once.
 */
async function callsAlonePlans(bare, ours) {
  const base = bare.app.base;
  const record = async (what, method, path, options) =>
    recordedOnBare(base, what, () => call(base, method, path, options));
  const plans = {};
  plans['list of 20'] = {
    variants: [(await record('list', 'GET', '/api/v1/posts?limit=20')).calls],
    pick: 'cycle',
  };
  const posts = [];
  for (let p = 0; p < 16; p++) posts.push((await record('post', 'GET', `/api/v1/posts/${ours.postIds[p]}`)).calls);
  plans['one post'] = { variants: posts, pick: 'cycle' };
  const likers = await Promise.all(Array.from({ length: 16 }, (_, i) => register(base, `alone-liker${i}`)));
  const likes = [];
  for (const [c, liker] of likers.entries()) {
    const path = `/api/v1/posts/${ours.postIds[c]}/like`;
    likes.push((await record('like', 'PUT', path, { token: liker.token })).calls);
    likes.push((await record('unlike', 'DELETE', path, { token: liker.token })).calls);
  }
  plans['like/unlike'] = { variants: likes, pick: 'toggle' };
  const signer = await register(base, 'alone-signer');
  const login = (
    await record('login', 'POST', '/api/v1/auth/login', { body: { email: signer.email, password: PASSWORD } })
  ).calls;
  plans.login = { variants: [login], fresh: [putOf(login, 'Session').id], freshLoginKey: true };
  const local = `alone${newId()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`.slice(0, 16);
  const registered = await record('register', 'POST', '/api/v1/auth/register', {
    body: { email: `${local}@example.com`, password: PASSWORD },
  });
  const mailRequest = /MAILREQ#([A-Za-z0-9_-]+)/.exec(JSON.stringify(registered.calls))?.[1];
  plans.register = {
    variants: [registered.calls],
    fresh: [registered.res.json.user.id, putOf(registered.calls, 'Session').id, local, mailRequest].filter(Boolean),
  };
  return { plans, calls: Object.fromEntries(Object.entries(plans).map(([op, plan]) => [op, plan.variants[0].length])) };
}

/** The calls-alone process (scripts/bench/calls-alone.mjs), in the app's environment, and its measure. */
async function startCallsAlone(ours, bare) {
  const { plans, calls } = await callsAlonePlans(bare, ours);
  const child = fork(ALONE_MAIN, [], {
    env: { PATH: process.env.PATH, NODE_ENV: 'development', JWT_SECRET, LOG_LEVEL: 'warn', ...ours.env },
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ask = (message, expected) =>
    new Promise((resolve, reject) => {
      const answer = (reply) => {
        child.off('message', answer);
        if (reply.type === expected) resolve(reply);
        else reject(new Error(`calls alone: ${reply.error ?? reply.type}`));
      };
      child.on('message', answer);
      if (message) child.send(message);
    });
  await ask(undefined, 'ready');
  /** CPU per request of each operation: 10 requests first (not counted), then `count`, as `cpuPerRequest`. */
  const measure = async (operations, count) => {
    const results = {};
    for (const operation of operations) {
      await ask({ type: 'prepare', operation, count: count + 10, plan: plans[operation] }, 'prepared');
      await ask({ type: 'run', concurrency: 1, count: 10 }, 'done');
      const before = cpuPartsOf(child.pid);
      await ask({ type: 'run', concurrency: CONCURRENCY, count }, 'done');
      const after = cpuPartsOf(child.pid);
      results[operation] = round2(((after.user + after.system - before.user - before.system) * 1000) / count);
    }
    return results;
  };
  const reads = ['list of 20', 'one post', 'like/unlike'];
  const auth = ['login', 'register'];
  return {
    pid: child.pid,
    calls,
    measure: async (readCount, authCount) => ({
      ...(await measure(reads, readCount)),
      ...(await measure(auth, authCount)),
    }),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

async function peerReaders(base) {
  const readers = [];
  for (let i = 0; i < 32; i++) {
    const name = `reader${i}`;
    const res = must(
      await call(base, 'POST', '/api/users', {
        body: { user: { username: name, email: `${name}@example.com`, password: PASSWORD } },
      }),
      'peer register',
    );
    readers.push({ email: res.user.email, token: res.user.token });
  }
  return readers;
}

/** CPU of one bcrypt hash and one comparison at `cost`, in this process (the thread pool's included). */
async function bcryptCpu(cost, n = 8) {
  const cpuMs = async (task) => {
    await task(); // warm
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await task();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / n;
  };
  const hash = await bcrypt.hash(PASSWORD, cost);
  return {
    hashMs: round2(await cpuMs(() => bcrypt.hash(PASSWORD, cost))),
    compareMs: round2(await cpuMs(() => bcrypt.compare(PASSWORD, hash))),
  };
}

/**
 * The rows of ours with production's caching: CPU per request as the strict rows (one bcrypt
 * operation subtracted from login and register), against the peer's figure of the same rounds,
 * and the DynamoDB calls, RCU and WCU per request averaged over every request of the rounds
 * (`cpuPerRequest`'s 10 first requests of each measurement included).
 */
function productionCachingRows(runs, tally, strictRows) {
  return Object.entries(runs).map(([operation, values]) => {
    const strict = strictRows.find((row) => row.operation === operation);
    const ours = summarise(values);
    const subtracted = strict.bcryptSubtractedMs;
    const oursWithoutBcrypt = subtracted === undefined ? undefined : round2(ours.median - subtracted);
    const peer = subtracted === undefined ? strict.peer.median : strict.peerWithoutBcrypt;
    const sum = tally[operation];
    const mean = (key) => round2(sum[key] / sum.requests);
    return {
      operation,
      ours,
      ...(oursWithoutBcrypt === undefined ? {} : { oursWithoutBcrypt }),
      ratioToPeer: round2((oursWithoutBcrypt ?? ours.median) / peer),
      perRequest: { calls: mean('calls'), rcu: mean('rcu'), wcu: mean('wcu'), requests: sum.requests },
    };
  });
}

/** Median, spread and rounds of one operation's CPU figures. */
const summarise = (values) => ({
  median: round2(percentile(values, 50)),
  min: Math.min(...values),
  max: Math.max(...values),
  rounds: values,
});

/** The calls of one operation in the full app (its `Server-Timing`), like and unlike apart. */
const fullCalls = (costs, operation) =>
  operation === 'like/unlike' ? `${costs.like?.calls}/${costs.unlike?.calls}` : `${costs[operation]?.calls}`;

/**
 * The floor (BENCH_PEER_BARE=1): for each operation, ours (the full app), the bare app (services and data
 * layer) and the calls alone, without one bcrypt operation where the strict row subtracts one (the calls
 * alone have none), against the peer's figure of the same rounds; "framework" is ours - bare. Reachable:
 * the bare app at most the target times the peer's, i.e. some HTTP layer could bring ours there.
 */
function floorRows(runs, rows, costs, bareCosts, aloneCalls) {
  return rows.map((strict) => {
    const operation = strict.operation;
    const subtracted = strict.bcryptSubtractedMs ?? 0;
    const full = strict.oursWithoutBcrypt ?? strict.ours.median;
    const peer = strict.peerWithoutBcrypt ?? strict.peer.median;
    const bare = summarise(runs[BARE_SIDE][operation]);
    const bareMs = round2(bare.median - subtracted);
    const aloneValues = runs[ALONE_SIDE]?.[operation];
    const alone = aloneValues ? summarise(aloneValues) : undefined;
    const bareCalls = operation === 'like/unlike' ? `${bareCosts.like}/${bareCosts.unlike}` : `${bareCosts[operation]}`;
    return {
      operation,
      full,
      bare: { ...bare, withoutBcrypt: bareMs },
      ...(alone ? { callsAlone: alone } : {}),
      peer,
      framework: round2(full - bareMs),
      frameworkShare: round2((full - bareMs) / full),
      ...(alone ? { servicesAboveCalls: round2(bareMs - alone.median) } : {}),
      bareToPeer: round2(bareMs / peer),
      ...(alone ? { callsAloneToPeer: round2(alone.median / peer) } : {}),
      fullToPeer: strict.ratio,
      target: strict.target,
      reachable: bareMs <= strict.target * peer,
      calls: {
        full: fullCalls(costs, operation),
        bare: bareCalls,
        same: fullCalls(costs, operation) === bareCalls,
        ...(aloneCalls[operation] === undefined ? {} : { alone: aloneCalls[operation] }),
      },
    };
  });
}

function printFloor(floor, log) {
  const pad = (v, w) => String(v ?? '-').padEnd(w);
  log(
    `\nThe floor (ms of app CPU per request, medians; login and register without one bcrypt operation, the calls alone have none):\n` +
      `${pad('operation', 18)}${pad('ours', 7)}${pad('bare', 7)}${pad('calls', 7)}${pad('peer', 7)}${pad('framework', 16)}${pad('bare-calls', 12)}${pad('bare/peer', 11)}${pad('calls/peer', 12)}${pad('ours/peer', 11)}${pad('calls: ours; bare; alone', 26)}0.8x reachable`,
  );
  for (const r of floor)
    log(
      `${pad(r.operation, 18)}${pad(r.full, 7)}${pad(r.bare.withoutBcrypt, 7)}${pad(r.callsAlone?.median, 7)}${pad(r.peer, 7)}${pad(`${r.framework} (${Math.round(r.frameworkShare * 100)} %)`, 16)}${pad(r.servicesAboveCalls, 12)}${pad(r.bareToPeer, 11)}${pad(r.callsAloneToPeer, 12)}${pad(r.fullToPeer, 11)}${pad(`${r.calls.full}; ${r.calls.bare}; ${r.calls.alone ?? '-'}${r.calls.same ? '' : ' DIFFER'}`, 26)}${r.reachable ? 'yes' : 'no'}`,
    );
}

async function main() {
  if (!existsSync('bench/peer/node_modules'))
    throw new Error('The peer is not installed: run `npm install --prefix bench/peer` first (once).');
  const started = Date.now();
  const load = [loadavg()];
  const pg = await startPostgres();
  try {
    const ours = await startOurs();
    const peer = await startPeer(pg);
    const ourReaders = await Promise.all(Array.from({ length: 32 }, (_, i) => register(ours.app.base, `reader${i}`)));
    // Sign-ins below the cap: the warm-up's and each round's (cpuPerRequest sends 10 more first), and the cost probe.
    const signInsNeeded = 32 + 10 + ROUNDS * (AUTH_COUNT + 10) + 1;
    const signIns = await signInPool(ours.app.base, signInsNeeded);
    await fillToCap(
      ours.app.base,
      ourReaders.slice(16).map((reader) => reader.email),
    );
    const production = PRODUCTION ? await startProductionSide(ours, signInsNeeded) : undefined;
    const bare = BARE ? await startAnotherOurs(ours, { main: BARE_MAIN, tag: 'bare', signInsNeeded }) : undefined;
    const alone = bare ? await startCallsAlone(ours, bare) : undefined;
    const peerSignedIn = await peerReaders(peer.app.base);
    // Measured in this order in each round: ours, the bare app and the calls alone (when asked), ours with
    // production's caching (when asked), the peer.
    const sides = {
      ours: { pid: ours.app.child.pid, ops: oursOperations(ours.app.base, ours, ourReaders, signIns) },
      ...(bare ? { [BARE_SIDE]: { pid: bare.app.child.pid, ops: bare.ops } } : {}),
      ...(alone ? { [ALONE_SIDE]: { pid: alone.pid, measure: alone.measure } } : {}),
      ...(production ? { [PRODUCTION_SIDE]: { pid: production.app.child.pid, ops: production.ops } } : {}),
      peer: { pid: peer.app.child.pid, ops: peerOperations(peer.app.base, peer, peerSignedIn) },
    };
    const bcryptCost = {
      [BCRYPT_COST]: await bcryptCpu(BCRYPT_COST),
      [REAL_BCRYPT_COST]: await bcryptCpu(REAL_BCRYPT_COST),
    };
    for (const [cost, { hashMs, compareMs }] of Object.entries(bcryptCost))
      log(`bcrypt at cost ${cost}, CPU in this process: hash ${hashMs} ms, compare ${compareMs} ms`);

    // Warm-up: every operation on both sides, not counted (JIT, connection pools, caches).
    /** One side's CPU per request of each operation: the reads' `readCount` requests, then the sign-ins'. */
    const measureSide = async (side, readCount, authCount) =>
      side.measure
        ? side.measure(readCount, authCount)
        : {
            ...(await cpuPerRequest({
              pid: side.pid,
              operations: side.ops.reads,
              count: readCount,
              concurrency: CONCURRENCY,
            })),
            ...(await cpuPerRequest({
              pid: side.pid,
              operations: side.ops.auth,
              count: authCount,
              concurrency: CONCURRENCY,
            })),
          };
    for (const side of Object.values(sides)) await measureSide(side, 200, 32);
    // The calls per request of the production side are counted over the measured rounds only.
    if (production) for (const operation of Object.keys(production.tally)) delete production.tally[operation];
    const runs = Object.fromEntries(Object.keys(sides).map((name) => [name, {}]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, side] of Object.entries(sides)) {
        // Each side waits idle while the others are measured (a minute or more with the floor's four
        // sides), and its first requests after the pause cost it more (session 23: every side's reads
        // measured 1.3-1.9x a three-side run's without this). Its reads, unmeasured, just before.
        if (REWARM && side.ops)
          await cpuPerRequest({ pid: side.pid, operations: side.ops.reads, count: REWARM, concurrency: CONCURRENCY });
        const cpu = await measureSide(side, COUNT, AUTH_COUNT);
        for (const [op, ms] of Object.entries(cpu)) (runs[name][op] ??= []).push(ms);
        log(`round ${round + 1} ${name}: ${JSON.stringify(cpu)} (load ${loadavg()})`);
      }
      load.push(loadavg());
    }

    // What one request of each of ours costs in DynamoDB calls (the like path's target: 3 at most).
    const costs = {};
    const reader = ourReaders[0];
    const signer = ourReaders[16];
    const base = ours.app.base;
    costs['list of 20'] = costOf(await call(base, 'GET', '/api/v1/posts?limit=20'));
    costs['one post'] = costOf(await call(base, 'GET', `/api/v1/posts/${ours.postIds[1]}`));
    // A post outside the 16 the rounds like and unlike: the rounds may leave the reader liking those,
    // and a like of a liked post is a no-op (0 WCU) that says nothing of the like's cost.
    const untouched = ours.postIds[16];
    costs.like = costOf(await call(base, 'PUT', `/api/v1/posts/${untouched}/like`, { token: reader.token }));
    costs.unlike = costOf(await call(base, 'DELETE', `/api/v1/posts/${untouched}/like`, { token: reader.token }));
    costs.login = costOf(
      await call(base, 'POST', '/api/v1/auth/login', {
        body: { email: nextSignIn(signIns).email, password: PASSWORD },
      }),
    );
    costs['login at the cap'] = costOf(
      await call(base, 'POST', '/api/v1/auth/login', { body: { email: signer.email, password: PASSWORD } }),
    );
    costs.register = costOf(
      await call(base, 'POST', '/api/v1/auth/register', {
        body: { email: `c-${newId()}@example.com`.toLowerCase(), password: PASSWORD },
      }),
    );
    const bareCosts = bare ? await bareCallCounts(bare, ours) : undefined;
    await ours.app.stop();
    await production?.app.stop();
    await bare?.app.stop();
    alone?.stop();
    await peer.app.stop();

    // login: one comparison; register: one hash.
    const bcryptOp = { login: 'compareMs', 'login at the cap': 'compareMs', register: 'hashMs' };
    const rows = Object.keys(runs.ours).map((op) => {
      const o = summarise(runs.ours[op]);
      const p = summarise(runs.peer[op]);
      const field = bcryptOp[op];
      if (field === undefined)
        return { operation: op, ours: o, peer: p, ratio: round2(o.median / p.median), target: 0.8 };
      const without = (s) => round2(s.median - bcryptCost[BCRYPT_COST][field]);
      const withReal = (s) => round2(without(s) + bcryptCost[REAL_BCRYPT_COST][field]);
      return {
        operation: op,
        ours: o,
        peer: p,
        measuredAtCost: BCRYPT_COST,
        bcryptSubtractedMs: bcryptCost[BCRYPT_COST][field],
        oursWithoutBcrypt: without(o),
        peerWithoutBcrypt: without(p),
        ratio: round2(without(o) / without(p)),
        [`withBcryptAtCost${REAL_BCRYPT_COST}`]: {
          ours: withReal(o),
          peer: withReal(p),
          ratio: round2(withReal(o) / withReal(p)),
        },
        target: 0.8,
      };
    });
    for (const row of rows) row.met = row.ratio <= row.target;
    const productionRows = production
      ? productionCachingRows(runs[PRODUCTION_SIDE], production.tally, rows)
      : undefined;
    log(
      `\nApp-process CPU per request (ms, utime + stime; median of ${ROUNDS} interleaved rounds, min-max), ${COUNT} requests (login and register ${AUTH_COUNT}) at ${CONCURRENCY} callers.\n` +
        `Login and register at bcrypt cost ${BCRYPT_COST} in both; "without bcrypt" less one comparison or hash at ${BCRYPT_COST}, "with" plus one at ${REAL_BCRYPT_COST}:`,
    );
    const pad = (v, w) => String(v).padEnd(w);
    log(
      `${pad('operation', 18)}${pad('ours', 22)}${pad('peer', 22)}${pad('without bcrypt', 16)}${pad('ours/peer', 11)}${pad(`with bcrypt at ${REAL_BCRYPT_COST}`, 26)}target`,
    );
    for (const r of rows) {
      const real = r[`withBcryptAtCost${REAL_BCRYPT_COST}`];
      log(
        `${pad(r.operation, 18)}${pad(`${r.ours.median} (${r.ours.min}-${r.ours.max})`, 22)}${pad(`${r.peer.median} (${r.peer.min}-${r.peer.max})`, 22)}${pad(real ? `${r.oursWithoutBcrypt} / ${r.peerWithoutBcrypt}` : '-', 16)}${pad(r.ratio, 11)}${pad(real ? `${real.ours} / ${real.peer} = ${real.ratio}` : '-', 26)}<= ${r.target} ${r.met ? 'met' : 'NOT met'}`,
      );
    }
    if (productionRows) {
      log(
        `\n${PRODUCTION_SIDE} (${Object.entries(PRODUCTION_CACHING)
          .map(([name, value]) => `${name}=${value}`)
          .join(', ')}; a cache hit reads nothing: not the like-for-like comparison, see docs/performance.md):`,
      );
      log(
        `${pad('operation', 18)}${pad('ours', 22)}${pad('without bcrypt', 16)}${pad('/ peer', 9)}calls / RCU / WCU per request (mean)`,
      );
      for (const r of productionRows)
        log(
          `${pad(r.operation, 18)}${pad(`${r.ours.median} (${r.ours.min}-${r.ours.max})`, 22)}${pad(r.oursWithoutBcrypt ?? '-', 16)}${pad(r.ratioToPeer, 9)}${r.perRequest.calls} / ${r.perRequest.rcu} / ${r.perRequest.wcu} over ${r.perRequest.requests}`,
        );
    }
    const floor = bare ? floorRows(runs, rows, costs, bareCosts, alone.calls) : undefined;
    if (floor) printFloor(floor, log);
    log(`\nOur DynamoDB calls / RCU / WCU per request: ${JSON.stringify(costs)}`);
    // Issue 15: the like path makes at most 3 calls, the guard's included.
    const likeCalls = Math.max(costs.like?.calls ?? Infinity, costs.unlike?.calls ?? Infinity);
    const likePath = { calls: likeCalls, target: 3, met: likeCalls <= 3 };
    log(`Like path: ${likeCalls} calls at most (target <= 3): ${likePath.met ? 'met' : 'NOT met'}`);
    // A sign-in below the cap: two BatchGetItems and the session's transaction (docs/performance.md).
    log(
      `Login below the cap: ${costs.login?.calls} calls (expected 3); at the cap: ${costs['login at the cap']?.calls} (expected 4)`,
    );
    const seconds = Math.round((Date.now() - started) / 1000);
    const result = {
      at: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      loadavg: load,
      seconds,
      method:
        'app-process utime+stime from /proc over a fixed number of requests at the given concurrency, after a warm-up; ' +
        'ours then the peer in each round; login and register at bcrypt cost 4 in both, one comparison or hash at 4 ' +
        '(measured in the bench process) subtracted for "without bcrypt", one at 10 added for "with bcrypt"',
      options: {
        rounds: ROUNDS,
        count: COUNT,
        authCount: AUTH_COUNT,
        concurrency: CONCURRENCY,
        bcryptCost: BCRYPT_COST,
        reportedBcryptCost: REAL_BCRYPT_COST,
        users: USERS,
        posts: POSTS,
        tagsPerPost: TAGS.length,
        ...(PRODUCTION ? { production: true } : {}),
        ...(BARE ? { bare: true } : {}),
      },
      bcrypt: bcryptCost,
      rows,
      ...(productionRows
        ? { productionCaching: { configuration: PRODUCTION_SIDE, env: PRODUCTION_CACHING, rows: productionRows } }
        : {}),
      ...(floor ? { floor: { sides: [BARE_SIDE, ALONE_SIDE], rows: floor } } : {}),
      ourCosts: costs,
      likePath,
    };
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/peer-${result.at.slice(0, 19).replace(/:/g, '-')}.json`;
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`\n${seconds} s, load average ${load.join(' | ')}; written to ${file}`);
  } finally {
    await cleanup();
    await pg.stop();
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
