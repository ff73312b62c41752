// The throughput and CPU part of `npm run bench`: the app against the raw DynamoDB calls its
// routes make, a cached page against a bare express handler, sign-ins against bcrypt's bound,
// and the app process's CPU per request.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, get } from 'node:http';
import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import bcrypt from 'bcrypt';
import express from 'express';
import { INDEX_PATTERNS } from '../../dist/dynamo/schema.js';
import { Keys, PostIndexKeys } from '../../dist/dynamo/keys.js';
import { call, percentile } from '../reliability/lib.mjs';

/** Requests per second of `task` run by `concurrency` callers in a closed loop for `seconds`. */
export async function closedLoop(task, { concurrency, seconds }) {
  let done = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          if ((await task()) === false) failed++;
          else done++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { perSecond: done / ((performance.now() - started) / 1000), failed };
}

/**
 * Runs each contender in turn, `rounds` times, interleaved (a, b, a, b, ...; with `alternate`,
 * a, b, b, a, a, b, ...), so that a machine whose load drifts affects both alike; returns the
 * median and the spread of each. A contender is a task, or `{ task, before }` where `before()`
 * runs ahead of each of its runs (BENCH_PIN's affinity changes).
 */
export async function sideBySide(contenders, { rounds, concurrency, seconds, alternate = false }) {
  const runs = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = Object.entries(contenders);
    if (alternate && round % 2) order.reverse();
    for (const [name, contender] of order) {
      const { task, before } = typeof contender === 'function' ? { task: contender } : contender;
      before?.();
      const { perSecond, failed } = await closedLoop(task, { concurrency, seconds });
      if (failed) throw new Error(`${name}: ${failed} failed requests`);
      runs[name].push(perSecond);
    }
  }
  const summary = (values) => ({
    median: Math.round(percentile(values, 50)),
    min: Math.round(Math.min(...values)),
    max: Math.round(Math.max(...values)),
  });
  return Object.fromEntries(Object.entries(runs).map(([name, values]) => [name, summary(values)]));
}

const okStatus = (res) => res.status >= 200 && res.status < 300;

/**
 * A GET of `path` on `base` as a task of `closedLoop`, over `node:http` with keep-alive sockets: true
 * on a 2xx. The body is read and dropped. `call` (`fetch`, its answer kept as text and parsed as
 * JSON) costs about twice the CPU a request in the bench process.
 */
export function lightGet(base, path) {
  const url = new URL(path, base);
  const agent = new Agent({ keepAlive: true });
  const options = { agent, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}` };
  return () =>
    new Promise((resolve, reject) => {
      get(options, (res) => {
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode >= 200 && res.statusCode < 300));
        res.resume();
      }).on('error', reject);
    });
}

/** The app-against-raw comparisons' HTTP drivers: `http` (`lightGet`, the default) or `fetch` (`call`). */
export const DRIVERS = ['http', 'fetch'];

/** A GET of `path` through the app as a task of `closedLoop`, sent by `driver` (DRIVERS). */
export function appGet(base, path, driver) {
  if (driver === 'fetch') return async () => okStatus(await call(base, 'GET', path));
  if (driver === 'http') return lightGet(base, path);
  throw new Error(`unknown driver ${JSON.stringify(driver)}: ${DRIVERS.join(' or ')}`);
}

/** `GET /users/{id}` of the fixture's author through the app (`app`), and the one `Query` it makes (`raw`). */
export function userRoute({ base, db, tableName, fixture, driver }) {
  const userId = fixture.author.userId;
  return {
    app: appGet(base, `/api/v1/users/${userId}`, driver),
    raw: () =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :user)',
          ExpressionAttributeValues: { ':pk': Keys.user(userId).PK, ':user': Keys.userAggregatePrefix },
        }),
      ),
  };
}

/**
 * `GET /users/{id}` and the global feed page through the app, against the DynamoDB calls they make,
 * the order reversed from one round to the next (app, raw; raw, app; ...). With `pinning` (BENCH_PIN=1,
 * `corePinning` in pin.mjs), each round also runs both sides with the engine on one core and the
 * measured side on the other, and each route gets a second row, "pinned". `driver` sends the app's
 * requests (`appGet`): the bench process's own CPU for them runs on the measured core when pinned.
 */
export async function appAgainstRaw({ base, db, tableName, fixture, options, pinning, driver }) {
  const user = userRoute({ base, db, tableName, fixture, driver });
  const month = new Date().toISOString().slice(0, 7);
  const rawFeed = async () => {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: INDEX_PATTERNS.globalFeedMonth.index,
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK < :upTo',
        ExpressionAttributeValues: {
          ':pk': PostIndexKeys.feedPartition(month),
          ':upTo': `${new Date().toISOString()}~`,
        },
        ScanIndexForward: false,
        Limit: 20,
      }),
    );
    const keys = (page.Items ?? []).map((item) => Keys.postCounts(String(item.id)));
    if (keys.length) await db.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys } } }));
  };
  const compare = async (name, app, raw) => {
    if (!pinning) {
      // app, raw; raw, app; ...: as the pinned rows, so that neither side always runs first in a round.
      const result = await sideBySide({ app, raw }, { ...options, alternate: true });
      return { [name]: { ...result, ratio: round2(result.app.median / result.raw.median), target: 0.8 } };
    }
    const { pin, unpin } = pinning;
    let result;
    try {
      result = await sideBySide(
        {
          app: { task: app, before: unpin },
          raw: { task: raw, before: unpin },
          'app pinned': { task: app, before: pin },
          'raw pinned': { task: raw, before: pin },
        },
        { ...options, alternate: true },
      );
    } finally {
      unpin();
    }
    const row = (appSide, rawSide) => ({
      app: appSide,
      raw: rawSide,
      ratio: round2(appSide.median / rawSide.median),
      target: 0.8,
    });
    return {
      [name]: row(result.app, result.raw),
      [`${name}, pinned`]: row(result['app pinned'], result['raw pinned']),
    };
  };
  return {
    ...(await compare('GET /users/{id} (1 Query)', user.app, user.raw)),
    ...(await compare(
      'GET /posts?limit=20 (Query + BatchGetItem)',
      appGet(base, '/api/v1/posts?limit=20', driver),
      rawFeed,
    )),
  };
}

/** The cached anonymous front page through the app, against express answering the same bytes. */
export async function cachedAgainstExpress({ base, options }) {
  const page = await call(base, 'GET', '/api/v1/posts?limit=20');
  if (!okStatus(page)) throw new Error(`front page: ${page.status}`);
  const bare = express();
  bare.get('/api/v1/posts', (_req, res) => res.type('application/json').send(page.text));
  const server = bare.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const bareBase = `http://127.0.0.1:${server.address().port}`;
  try {
    const result = await sideBySide(
      {
        app: async () => okStatus(await call(base, 'GET', '/api/v1/posts?limit=20')),
        express: async () => okStatus(await call(bareBase, 'GET', '/api/v1/posts?limit=20')),
      },
      options,
    );
    return { ...result, ratio: round2(result.app.median / result.express.median), target: 0.6 };
  } finally {
    server.close();
  }
}

/** Sign-ins per second against what bcrypt allows: hashing threads / time of one comparison. */
export async function loginsAgainstBcrypt({ base, fixture, cost, hashThreads, options }) {
  const hash = await bcrypt.hash('password-1234', cost);
  // CPU time, not wall time: on a busy machine a comparison waits for a core, and the bound is
  // about how much CPU one sign-in's hash needs.
  const before = process.cpuUsage();
  for (let i = 0; i < 5; i++) await bcrypt.compare('password-1234', hash);
  const used = process.cpuUsage(before);
  const compareMs = (used.user + used.system) / 1000 / 5;
  const bound = hashThreads / (compareMs / 1000);
  const { perSecond, failed } = await closedLoop(
    async () =>
      okStatus(
        await call(base, 'POST', '/api/v1/auth/login', {
          body: { email: fixture.reader.email, password: 'password-1234' },
        }),
      ),
    { concurrency: options.concurrency, seconds: options.seconds * 2 },
  );
  if (failed) throw new Error(`login: ${failed} failed requests`);
  return {
    bcryptCost: cost,
    hashThreads,
    compareMs: round2(compareMs),
    boundPerSecond: round2(bound),
    loginsPerSecond: round2(perSecond),
    ratio: round2(perSecond / bound),
    target: 0.8,
  };
}

/** CPU seconds (user + system) the process has used so far, from /proc (Linux). */
export function cpuSecondsOf(pid) {
  const { user, system } = cpuPartsOf(pid);
  return user + system;
}

/** A process's user and system (kernel) CPU seconds so far, from `/proc/<pid>/stat`. */
export function cpuPartsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command name.
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** The app process's CPU per request for each operation, over `count` requests at `concurrency`. */
export async function cpuPerRequest({ pid, operations, count, concurrency }) {
  const results = {};
  for (const [name, task] of Object.entries(operations)) {
    for (let i = 0; i < 10; i++) await task(i); // warm-up: JIT, caches, connections
    const before = cpuSecondsOf(pid);
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) if ((await task(next++)) === false) failed++;
      }),
    );
    if (failed) throw new Error(`${name}: ${failed} failed requests`);
    results[name] = round2(((cpuSecondsOf(pid) - before) * 1000) / count);
  }
  return results;
}

export const round2 = (n) => Math.round(n * 100) / 100;
