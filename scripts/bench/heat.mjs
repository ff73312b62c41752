// `npm run bench:heat` (after `npm run build`): partition-key heat of the hot patterns, and the
// highest rate each reaches before one partition key passes DynamoDB's per-partition limits
// (1,000 WCU/s and 3,000 RCU/s). DynamoDB reports capacity per request (or per table and index),
// never per key, so the app talks to DynamoDB Local through a recording proxy here: each write's
// items are read before and after it, and their write units are computed per base-table and
// per-index partition from the item sizes and the indexes' projections (a transaction doubles
// them; an index whose projected attributes did not change is not written). Reads are attributed
// to the partition they Query or the keys they get. The computed write units are printed beside
// the units DynamoDB Local reported for the same calls (it leaves index writes out of transactions;
// HEAT_DEBUG=1 prints both per call). Not part of `npm test`; the figures are in
// docs/performance.md ("Partition-key heat").
//
// Each scenario runs the pattern as the issue's load would: many different users on one hot post,
// many different users signing in or registering, anonymous readers of the front page.
import { createServer, request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { COMMENT_SHARDS, INDEX_SHARDS, LIKE_SHARDS } from '../../dist/dynamo/sharding.js';
import { call, cleanup, register, sleep, startApp, startEngine } from '../reliability/lib.mjs';

const TABLE = 'heat';
const LIMITS = { write: 1000, read: 3000 };
const RUNS = Number(process.env.HEAT_RUNS ?? 20);
/** The app's view counter shards (VIEW_COUNTER_SHARDS, its default unless set). */
const VIEW_SHARDS = Number(process.env.VIEW_COUNTER_SHARDS ?? 32);
/** App instances serving the issue's load (its front page: 10), each counting on the post up to its bound. */
const INSTANCES = 10;
/**
 * Likes and comments of one post a second that one instance counts directly on the post's counter
 * item (LIKE_DIRECT_MAX_PER_SECOND, COMMENT_DIRECT_MAX_PER_SECOND: the app's defaults unless set);
 * past that the post is hot on the instance and they go to its shards (src/posts/like-heat.ts).
 */
const DIRECT_BOUND = {
  like: Number(process.env.LIKE_DIRECT_MAX_PER_SECOND ?? 10),
  comment: Number(process.env.COMMENT_DIRECT_MAX_PER_SECOND ?? 5),
  reply: Number(process.env.COMMENT_DIRECT_MAX_PER_SECOND ?? 5),
  'comment 1 KB': Number(process.env.COMMENT_DIRECT_MAX_PER_SECOND ?? 5),
};
/**
 * The direct likes' load on a viral post's partition while it is not hot for comments (10
 * instances x LIKE_DIRECT_MAX_PER_SECOND x 2 WCU): what the comment rows met there before review
 * 13 M-b1. A post hot for comments on an instance now sends its likes to the like shards
 * (src/posts/like-heat.ts, PostWriteHeat), so at 200 comments/s (20 an instance) none are direct.
 */
const DIRECT_LIKES_WCU = INSTANCES * DIRECT_BOUND.like * 2;
const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);
const TARGETS = {
  view: 20_000,
  like: 2_000,
  comment: 200,
  reply: 200,
  'comment 1 KB': 200,
  register: 2_000,
  login: 10_000,
  'front page': 10_000,
  // Not in issue 15: pending comments platform-wide at the registration rate (a new, unverified
  // account's comments are held for moderation under the default COMMENT_AUTO_APPROVE=verified).
  'pending comment': 2_000,
};

/** DynamoDB's item size: attribute names plus values (numbers about one byte per two digits). */
export function sizeOf(value) {
  if (value === undefined || value === null) return 0;
  if ('S' in value) return Buffer.byteLength(value.S);
  if ('N' in value) {
    // Significant digits: no sign, no point, no leading or trailing zeros.
    const digits = value.N.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(digits.length / 2) + 1;
  }
  if ('B' in value) return Buffer.from(value.B, 'base64').length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('SS' in value) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if ('NS' in value) return value.NS.reduce((sum, n) => sum + sizeOf({ N: n }), 0);
  if ('L' in value) return 3 + value.L.reduce((sum, v) => sum + 1 + sizeOf(v), 0);
  if ('M' in value) return 3 + Object.keys(value.M).length + itemSize(value.M);
  return 0;
}
export const itemSize = (item) =>
  Object.entries(item ?? {}).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + sizeOf(value), 0);
const units = (bytes, per) => Math.max(1, Math.ceil(bytes / per));

/** The attributes of `item` an index projects (its keys, the table's keys, and what it includes). */
function projected(item, index, tableKeys) {
  if (!item || !(index.pk in item)) return undefined;
  if (index.projection === 'ALL') return item;
  const names = new Set([...tableKeys, index.pk, index.sk, ...(index.include ?? [])].filter(Boolean));
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)));
}

const keyOf = (item) => `${item.PK?.S ?? '?'}`;

/**
 * The write units of changing one item from `before` to `after` (either may be absent), per
 * partition: `table PK` and `index GSIx-partition`.
 */
export function writeUnits(before, after, indexes, tableKeys, factor) {
  const out = new Map();
  const add = (where, n) => out.set(where, (out.get(where) ?? 0) + n * factor);
  const base = after ?? before;
  if (!base) return out;
  add(`table ${keyOf(base)}`, units(Math.max(itemSize(before), itemSize(after)), 1024));
  for (const index of indexes) {
    const old = projected(before, index, tableKeys);
    const now = projected(after, index, tableKeys);
    if (!old && !now) continue;
    const oldKey = old?.[index.pk]?.S ?? old?.[index.pk]?.N;
    const newKey = now?.[index.pk]?.S ?? now?.[index.pk]?.N;
    if (old && now && oldKey === newKey && old[index.sk]?.S === now[index.sk]?.S) {
      if (JSON.stringify(old) === JSON.stringify(now)) continue; // nothing it projects changed
      add(`${index.name} ${newKey}`, units(Math.max(itemSize(old), itemSize(now)), 1024));
      continue;
    }
    if (old) add(`${index.name} ${oldKey}`, units(itemSize(old), 1024));
    if (now) add(`${index.name} ${newKey}`, units(itemSize(now), 1024));
  }
  return out;
}

/** The keys a write request touches, with whether it is transactional. */
function writesOf(target, input) {
  switch (target) {
    case 'PutItem':
      return { keys: [{ PK: input.Item.PK, SK: input.Item.SK }], factor: 1 };
    case 'UpdateItem':
    case 'DeleteItem':
      return { keys: [input.Key], factor: 1 };
    case 'BatchWriteItem':
      return {
        keys: Object.values(input.RequestItems)
          .flat()
          .map((r) => (r.PutRequest ? { PK: r.PutRequest.Item.PK, SK: r.PutRequest.Item.SK } : r.DeleteRequest.Key)),
        factor: 1,
      };
    case 'TransactWriteItems':
      return {
        keys: input.TransactItems.map((t) => {
          const op = t.Put ?? t.Update ?? t.Delete ?? t.ConditionCheck;
          return { ...(op.Item ? { PK: op.Item.PK, SK: op.Item.SK } : op.Key), check: Boolean(t.ConditionCheck) };
        }),
        factor: 2,
      };
    default:
      return undefined;
  }
}

/** The partition a read touches, per read, with the capacity DynamoDB reported split evenly. */
function readsOf(target, input, output) {
  const reported = [output?.ConsumedCapacity ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
  const where = [];
  if (target === 'GetItem') where.push(`table ${input.Key.PK.S}`);
  if (target === 'Query') {
    const names = input.ExpressionAttributeNames ?? {};
    const clause = /(#?\w+)\s*=\s*(:\w+)/.exec(input.KeyConditionExpression);
    const value = clause && input.ExpressionAttributeValues[clause[2]];
    where.push(`${input.IndexName ?? 'table'} ${value?.S ?? value?.N ?? '?'}`);
    void names;
  }
  if (target === 'BatchGetItem')
    for (const { Keys } of Object.values(input.RequestItems)) for (const key of Keys) where.push(`table ${key.PK.S}`);
  if (target === 'TransactGetItems') for (const t of input.TransactItems) where.push(`table ${t.Get.Key.PK.S}`);
  return where.map((w) => [w, reported / where.length]);
}

/** A proxy in front of the engine that records, per scenario, the units each partition took. */
async function recordingProxy(engineEndpoint) {
  const raw = new DynamoDBClient({
    endpoint: engineEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'heat', secretAccessKey: 'heat' },
  });
  const table = (await raw.send(new DescribeTableCommand({ TableName: TABLE }))).Table;
  const tableKeys = table.KeySchema.map((k) => k.AttributeName);
  const indexes = (table.GlobalSecondaryIndexes ?? []).map((gsi) => ({
    name: gsi.IndexName,
    pk: gsi.KeySchema.find((k) => k.KeyType === 'HASH').AttributeName,
    sk: gsi.KeySchema.find((k) => k.KeyType === 'RANGE')?.AttributeName,
    projection: gsi.Projection.ProjectionType,
    include: gsi.Projection.NonKeyAttributes,
  }));
  const read = async (key) =>
    (await raw.send(new GetItemCommand({ TableName: TABLE, Key: { PK: key.PK, SK: key.SK }, ConsistentRead: true })))
      .Item;

  const state = { scope: undefined, op: 0, writes: new Map(), reads: new Map(), computed: 0, reported: 0 };
  // Units per partition, and which operations (or the worker after them) touched it.
  const bump = (map, where, n, op = state.op) => {
    const entry = map.get(where) ?? { units: 0, ops: new Set() };
    entry.units += n;
    entry.ops.add(op);
    map.set(where, entry);
  };
  const url = new URL(engineEndpoint);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let input;
      try {
        input = JSON.parse(body.toString() || '{}');
      } catch {
        input = {};
      }
      const scoped = state.scope !== undefined && !String(req.headers['x-amz-target']).startsWith('DynamoDBStreams');
      const writes = scoped ? writesOf(target, input) : undefined;
      // The stream worker's fold of the view, like and comment shards (it runs in the app's process,
      // between the requests): the worker's, not the request's in flight, recognised by its snapshot
      // attributes (`viewShard<n>`, `ls<n>`, `cs<n>`, named in ExpressionAttributeNames).
      const folds =
        ['UpdateItem', 'TransactWriteItems'].includes(target) && /viewShard|"[lc][sv]\d+"/.test(JSON.stringify(input));
      // A GetItem of a post's summary is the worker's too: the request paths read it with the counter
      // item in one BatchGetItem (findForCounting, findById); the like-place check of new likes and the
      // like sync read it alone (once per post per stream batch).
      const workerRead = target === 'GetItem' && input.Key?.SK?.S === 'POST' && /^POST#/.test(input.Key?.PK?.S ?? '');
      const before = writes ? await Promise.all(writes.keys.map(read)) : [];
      const forward = httpRequest(
        { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const parts = [];
          answer.on('data', (chunk) => parts.push(chunk));
          answer.on('end', async () => {
            const out = Buffer.concat(parts);
            let output;
            try {
              output = JSON.parse(out.toString() || '{}');
            } catch {
              output = {};
            }
            if (scoped && answer.statusCode === 200) {
              if (writes) {
                const after = await Promise.all(writes.keys.map(read));
                writes.keys.forEach((key, i) => {
                  const change = key.check
                    ? new Map([[`table ${key.PK.S}`, units(itemSize(before[i]), 1024) * writes.factor]])
                    : writeUnits(before[i], after[i], indexes, tableKeys, writes.factor);
                  for (const [where, n] of change) {
                    // A fold's units apart from the requests' in the same partition (a comment and
                    // the fold of its count both write the post's): once per batch, not per operation.
                    bump(state.writes, folds ? `${where} (worker)` : where, n, folds ? 'worker' : state.op);
                    state.computed += n;
                  }
                });
                const reported = [output.ConsumedCapacity ?? []]
                  .flat()
                  .reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
                state.reported += reported;
                if (process.env.HEAT_DEBUG)
                  console.log(
                    JSON.stringify([
                      target,
                      reported,
                      writes.keys.map((key, i) => [
                        `${key.PK.S} ${key.SK.S}`,
                        itemSize(before[i]),
                        itemSize(after[i]),
                        [...writeUnits(before[i], after[i], indexes, tableKeys, writes.factor)],
                      ]),
                    ]),
                  );
              } else if (workerRead)
                // The worker's client does not ask for ConsumedCapacity: its read's units from the item's
                // size, kept apart from the requests' reads of the same partition.
                bump(
                  state.reads,
                  `table ${input.Key.PK.S} (worker)`,
                  units(itemSize(output.Item), 4096) * (input.ConsistentRead ? 1 : 0.5),
                  'worker',
                );
              else for (const [where, n] of readsOf(target, input, output)) bump(state.reads, where, n);
            }
            res.writeHead(answer.statusCode, answer.headers);
            res.end(out);
          });
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    /** Runs `task(setOp)` with its DynamoDB traffic recorded; returns the units per partition. */
    async record(task) {
      Object.assign(state, { scope: true, op: 0, writes: new Map(), reads: new Map(), computed: 0, reported: 0 });
      await task((op) => (state.op = op));
      state.op = 'worker';
      await sleep(2500); // the stream worker's writes that follow (a poll interval and some)
      state.scope = undefined;
      return { writes: state.writes, reads: state.reads, computed: state.computed, reported: state.reported };
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * The hottest shared partition of a recording, per operation, and the rate at which it reaches its
 * limit. Shared: touched by two or more of the operations, or by the stream worker after them (it
 * may batch many operations into one write). A partition of one actor only (a reader's own user
 * partition, a new account's) is not shared: at scale the load spreads over as many of them as
 * there are actors. The stream worker's own bookkeeping (`STREAM#...`: checkpoints, leases) is
 * polled at a fixed rate, not per request, so it is left out.
 */
/**
 * The sharded listing partitions (`USERS#<n>`, `USERS#STATUS#<s>#<n>`, ..., `EVENTS#<n>`, the
 * moderation queue's `MODERATION#pending#<n>`: src/dynamo/sharding.ts) as one entry per listing, `<partition>#<n>`, holding a shard's share of the
 * listing's units: the units over all its shards divided by the shard count. The ids are random,
 * so at the target rate each shard takes its share (2,000 registrations/s over 8 shards: 250 a
 * shard, give or take 16 at one standard deviation); a sample of 20 operations would instead
 * measure which shard drew the most of 20 (printed beside it, `sampleHottestShard`).
 */
const SHARDED = /^(GSI\d) ((USERS(#[A-Z]+#[a-z]+)*)|EVENTS|MODERATION#pending)#(\d+)$/;
function groupShards(map) {
  const out = new Map();
  let sampleHottestShard = ['-', 0];
  for (const [where, entry] of map) {
    const match = SHARDED.exec(where);
    if (!match) {
      out.set(where, entry);
      continue;
    }
    if (entry.units > sampleHottestShard[1]) sampleHottestShard = [where, entry.units];
    const group = `${match[1]} ${match[2]}#<n>`;
    const sum = out.get(group) ?? { units: 0, ops: new Set() };
    sum.units += entry.units / INDEX_SHARDS;
    for (const op of entry.ops) sum.ops.add(op);
    out.set(group, sum);
  }
  return { map: out, sampleHottestShard };
}

function verdict(
  name,
  recording,
  runs,
  own = new Set(),
  { families: shardFamilies = [], folded, cachedRead, requestReadsSummary = false } = {},
) {
  const grouped = groupShards(recording.writes);
  recording = { ...recording, writes: grouped.map, reads: new Map(recording.reads) };
  // The worker's reads of a post's summary are kept apart only where the scenario reports them
  // (`folded`); elsewhere they load the post's partition with the requests' reads. A GetItem of the
  // summary is taken for the worker's (the like paths read it in a BatchGetItem), but a comment's
  // request reads it that way itself (`requestReadsSummary`).
  const mergeWorker = (map) => {
    for (const [where, entry] of [...map])
      if (where.endsWith(' (worker)')) {
        map.delete(where);
        const into = where.slice(0, -' (worker)'.length);
        const sum = map.get(into) ?? { units: 0, ops: new Set() };
        sum.units += entry.units;
        for (const op of entry.ops) sum.ops.add(op);
        map.set(into, sum);
      }
  };
  if (!folded || requestReadsSummary) mergeWorker(recording.reads);
  // Likewise the worker's folds: reported apart where the scenario says what they fold (`folded`).
  if (!folded) mergeWorker(recording.writes);
  // One operation (a cache miss) shares whatever it touches. A partition of the actor of one
  // operation (a new account's `USER#<id>`) is never shared, though the stream worker's writes to
  // it (the verification mail) land while later operations run and are counted under them.
  const shared = (map) =>
    [...map.entries()].filter(
      ([where, { ops }]) =>
        !/ STREAM#/.test(where) &&
        !own.has(where) &&
        !(folded && folded.test(where) && ops.size === 1 && ops.has('worker')) &&
        (runs === 1 || ops.size > 1 || ops.has('worker')),
    );
  // Write-sharded partitions (`VIEWS#<postId>#<n>`, `POSTLIKES#<postId>#<n>`): a view picks one of
  // its shards at random, a like its liker's (a hash of a random id), so at any rate each takes
  // 1/shards of the family's load. A handful of runs over 16 or 32 shards says nothing about the
  // busiest one, so the family counts as one partition at its expected share (the busiest shard of
  // the recording is kept beside it).
  const families = new Map();
  for (const [pattern, shards] of shardFamilies)
    for (const [where, entry] of recording.writes) {
      const family = pattern.exec(where)?.[1];
      if (!family) continue;
      const sum = families.get(family) ?? { units: 0, ops: new Set(), busiest: 0, shards };
      sum.units += entry.units;
      for (const op of entry.ops) sum.ops.add(op);
      sum.busiest = Math.max(sum.busiest, entry.units);
      families.set(family, sum);
      recording.writes.delete(where);
    }
  for (const [family, sum] of families)
    recording.writes.set(`${family}<n> (each of ${sum.shards})`, { units: sum.units / sum.shards, ops: sum.ops });
  // The worker's reads of a post (the like-place check): once per post per stream batch, reported apart.
  const workerReads = folded
    ? [...recording.reads.entries()]
        .filter(([where, { ops }]) => folded.test(where) && ops.size === 1 && ops.has('worker'))
        .reduce((sum, [, { units }]) => sum + units, 0)
    : undefined;
  const foldWrites = folded
    ? [...recording.writes.entries()]
        .filter(([where, { ops }]) => folded.test(where) && ops.size === 1 && ops.has('worker'))
        .reduce((sum, [, { units }]) => sum + units, 0)
    : undefined;
  const hottest = (map) =>
    shared(map)
      .map(([where, { units }]) => [where, units])
      .sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
  // A read the app remembers per instance (VIEW_READ_CACHE_SECONDS in production): measured here
  // on every operation (the bench's app reads each time), charged per instance and second, not per operation.
  const remembered = cachedRead
    ? [...recording.reads.entries()].filter(
        ([where, { ops }]) => cachedRead.partition.test(where) && !(ops.size === 1 && ops.has('worker')),
      )
    : [];
  for (const [where] of remembered) recording.reads.delete(where);
  const rememberedRcuPerRead = remembered.reduce((sum, [, { units }]) => sum + units, 0) / runs;
  const [writeKey, writeUnitsTotal] = hottest(recording.writes);
  const [readKey, readUnitsTotal] = hottest(recording.reads);
  const perOpWrite = writeUnitsTotal / runs;
  const perOpRead = readUnitsTotal / runs;
  const maxRate = Math.min(
    perOpWrite > 0 ? LIMITS.write / perOpWrite : Infinity,
    perOpRead > 0 ? LIMITS.read / perOpRead : Infinity,
  );
  const mask = (where) => where.replace(/[A-Za-z0-9_-]{21}/g, '<id>');
  return {
    pattern: name,
    runs,
    hottestWrite: { partition: mask(writeKey), wcuPerOp: round(perOpWrite) },
    hottestRead: { partition: mask(readKey), rcuPerOp: round(perOpRead) },
    ...(grouped.sampleHottestShard[1] > 0
      ? {
          sampleHottestShard: {
            partition: mask(grouped.sampleHottestShard[0]),
            wcuPerOp: round(grouped.sampleHottestShard[1] / runs),
          },
        }
      : {}),
    maxRatePerSecond: Number.isFinite(maxRate) ? Math.floor(maxRate) : 'unbounded',
    target: TARGETS[name],
    meets: !Number.isFinite(maxRate) || maxRate >= TARGETS[name],
    computedWcu: round(recording.computed),
    reportedWcu: round(recording.reported),
    ...(families.size > 0
      ? { busiestShardWcuPerOp: round(Math.max(...[...families.values()].map((f) => f.busiest)) / runs) }
      : {}),
    ...(foldWrites !== undefined ? { foldWcu: round(foldWrites) } : {}),
    // Every shared partition's units per operation: what the adaptive model combines (`adaptive`).
    perOp: {
      writes: perOpOf(shared(recording.writes), runs, mask),
      reads: perOpOf(shared(recording.reads), runs, mask),
    },
    ...(workerReads ? { workerReadRcu: round(workerReads) } : {}),
    ...(cachedRead
      ? {
          cachedRead: {
            partition: mask(remembered[0]?.[0] ?? '-'),
            rcuPerRead: round(rememberedRcuPerRead),
            rcuPerSecond: round((rememberedRcuPerRead * cachedRead.instances) / cachedRead.seconds),
          },
        }
      : {}),
  };
}
const round = (n) => Math.round(n * 100) / 100;
const perOpOf = (entries, runs, mask) =>
  Object.fromEntries(entries.map(([where, { units }]) => [mask(where), round(units / runs)]));

/**
 * A pattern counted on the post's counter item up to a bound per instance a second and on shards past
 * it (likes, comments: src/posts/like-heat.ts). `direct` was recorded with every operation counted on
 * the post, `hot` with every one on the shards; at a rate R from INSTANCES instances, at most
 * INSTANCES x bound of them are direct and the rest hot, so a partition taking d units per direct
 * operation and s per hot one carries d x min(R, D) + s x (R - D) with D = INSTANCES x bound. The
 * highest rate is where the first partition reaches its limit.
 */
function adaptive(name, direct, hot, bound, extra = { partition: /^$/, wcuPerSecond: 0 }) {
  const directRate = INSTANCES * bound;
  const highest = (d, s, limit) => {
    if (d * directRate >= limit) return limit / d; // the direct operations alone fill it
    return s > 0 ? directRate + (limit - d * directRate) / s : Infinity;
  };
  let max = Infinity;
  let limiting = { partition: '-', kind: 'write', direct: 0, hot: 0 };
  for (const [kind, limit] of [
    ['writes', LIMITS.write],
    ['reads', LIMITS.read],
  ]) {
    const partitions = new Set([...Object.keys(direct.perOp[kind]), ...Object.keys(hot.perOp[kind])]);
    for (const partition of partitions) {
      const [d, s] = [direct.perOp[kind][partition] ?? 0, hot.perOp[kind][partition] ?? 0];
      // Another pattern's steady load on the same partition (a viral post's direct likes) leaves less.
      const taken = kind === 'writes' && extra.partition.test(partition) ? extra.wcuPerSecond : 0;
      const rate = highest(d, s, limit - taken);
      if (rate < max) [max, limiting] = [rate, { partition, kind: kind.slice(0, -1), direct: d, hot: s }];
    }
  }
  return {
    pattern: name,
    runs: direct.runs,
    model: `${INSTANCES} instances, each counting up to ${bound}/s on the post (${directRate}/s in all), the rest on shards${extra.wcuPerSecond ? `, with ${extra.wcuPerSecond} WCU/s of ${extra.why} on the post's partition` : ''}`,
    limitedBy: limiting,
    maxRatePerSecond: Number.isFinite(max) ? Math.floor(max) : 'unbounded',
    target: TARGETS[name],
    meets: !Number.isFinite(max) || max >= TARGETS[name],
    direct,
    hot,
  };
}

async function main() {
  const engine = await startEngine({});
  // The table first (the app creates it at start), then the proxy that reads its indexes.
  let app = await startApp({ DYNAMODB_ENDPOINT: engine.endpoint, DYNAMODB_TABLE_NAME: TABLE, MAIL_TRANSPORT: 'log' });
  await app.stop();
  const proxy = await recordingProxy(engine.endpoint);
  // `bound`: LIKE_DIRECT_MAX_PER_SECOND and COMMENT_DIRECT_MAX_PER_SECOND of this app. 50 (the most):
  // every like and comment of a run is counted on the post (20 come in well over 0.4 s); 0: none is.
  const appWith = (bound, env = {}) =>
    startApp({
      DYNAMODB_ENDPOINT: proxy.endpoint,
      DYNAMODB_TABLE_NAME: TABLE,
      MAIL_TRANSPORT: 'log',
      BCRYPT_COST: '4',
      COMMENT_AUTO_APPROVE: 'all',
      PUBLIC_CACHE_SECONDS: '5',
      LOGIN_RATE_MAX_PER_ACCOUNT: '0',
      LOGIN_RATE_MAX_PER_IP: '0',
      REGISTER_RATE_MAX_PER_IP: '0',
      CONTENT_RATE_LIMIT_PER_MINUTE: '0',
      VIEW_COUNTER_SHARDS: String(VIEW_SHARDS),
      TRUST_PROXY_HOPS: '1',
      LIKE_DIRECT_MAX_PER_SECOND: String(bound),
      COMMENT_DIRECT_MAX_PER_SECOND: String(bound),
      ...env,
    });
  app = await appWith(50);
  let base = app.base;
  const author = await register(base, 'heat-author');
  const publish = async (title) => {
    const created = (await call(base, 'POST', '/api/v1/posts', { token: author.token, body: { title, content: BODY } }))
      .json;
    await call(base, 'POST', `/api/v1/posts/${created.id}/publish`, { token: author.token });
    return created;
  };
  // The second post takes the likes and comments of the hot runs (a reader likes a post once).
  const [post, hotPost] = [await publish('Viral'), await publish('Viral too')];
  // A post per comment scenario and phase, so that one scenario's comments do not make the next one's post hot.
  const [replyPost, hotReplyPost, bigPost, hotBigPost] = [
    await publish('Replied'),
    await publish('Replied too'),
    await publish('Long comments'),
    await publish('Long comments too'),
  ];
  // The pending comments' posts: one each, so that only what every pending comment of the platform
  // writes is shared (the moderation queue), not a post's partition.
  const quietPosts = [];
  for (let i = 0; i < RUNS; i++) quietPosts.push(await publish(`Quiet ${i}`));
  const readers = [];
  for (let i = 0; i < RUNS; i++) readers.push(await register(base, `heat-reader-${i}`));
  // The stream worker's work for the setup (26 publications' events, 20 registrations' mails) must be
  // done before the first recording, or it lands in it (2.5 s was short once the setup published 26).
  await sleep(15_000);

  const like = (target) => (i) => call(base, 'PUT', `/api/v1/posts/${target.id}/like`, { token: readers[i].token });
  const comment =
    (target, content = BODY.slice(0, 200)) =>
    (i) =>
      call(base, 'POST', `/api/v1/posts/${target.id}/comments`, { token: readers[i].token, body: { content } });
  // Replies of 200 characters to one comment of the post (its most replied-to thread), made before.
  const parentOf = async (target) =>
    (
      await call(base, 'POST', `/api/v1/posts/${target.id}/comments`, {
        token: author.token,
        body: { content: 'The comment everyone answers.' },
      })
    ).json;
  const [replyParent, hotReplyParent] = [await parentOf(replyPost), await parentOf(hotReplyPost)];
  const reply = (target, parent) => (i) =>
    call(base, 'POST', `/api/v1/posts/${target.id}/comments`, {
      token: readers[i].token,
      body: { content: BODY.slice(0, 200), parentId: parent.id },
    });
  const scenarios = [
    [
      'view',
      // A viewer per address (the user agent no longer tells viewers apart: review 19a M2).
      (i) =>
        call(base, 'POST', `/api/v1/posts/${post.id}/views`, {
          headers: { 'x-forwarded-for': `10.77.${i >> 8}.${i & 255}` },
        }),
    ],
    ['like', like(post)],
    ['comment', comment(post)],
    ['reply', reply(replyPost, replyParent)],
    ['comment 1 KB', comment(bigPost, BODY)],
    [
      'register',
      (i) =>
        call(base, 'POST', '/api/v1/auth/register', {
          body: { email: `heat-new-${i}-${Date.now()}@example.com`, password: 'password-1234' },
        }),
    ],
    [
      'login',
      (i) => call(base, 'POST', '/api/v1/auth/login', { body: { email: readers[i].email, password: 'password-1234' } }),
    ],
  ];
  const rows = [];
  const recorded = async (name, runs, run, options) => {
    const own = new Set();
    const recording = await proxy.record(async (setOp) => {
      for (let i = 0; i < runs; i++) {
        setOp(i);
        const res = await run(i);
        if (res.status >= 300) throw new Error(`${name}: ${res.status} ${res.text.slice(0, 200)}`);
        // A registration's new account: its own partition.
        if (name === 'register') own.add(`table USER#${res.json.user.id}`);
      }
    });
    return verdict(name, recording, runs, own, options);
  };
  // Views: the shards are one family; the stream's fold of them into the counter item writes it
  // once per post per batch, at the rate of the stream's batches whatever the views' rate, so it
  // is reported (foldWcu) and not charged per view.
  // The view's read of the post (is it live, its count) is remembered for 1 s per instance in
  // production (VIEW_READ_CACHE_SECONDS): 10 instances read it 10 times/s whatever the view rate.
  const options = {
    view: {
      families: [[/^(table VIEWS#[^#]+#)\d+$/, VIEW_SHARDS]],
      folded: /^table POST#/,
      cachedRead: { partition: /^table POST#/, seconds: 1, instances: 10 },
    },
    // Likes (src/posts/like-shards.ts): the like item and its shard's counter in the liker's like
    // shard (`POSTLIKES#<postId>#<n>`, 16), one family; the fold into the counter item and the
    // like-place check's read of the post are the worker's, once per post per stream batch; the
    // like's read of the post is remembered 1 s per instance, as the view's.
    like: {
      families: [[/^(table POSTLIKES#[^#]+#)\d+$/, LIKE_SHARDS]],
      folded: /^table POST#/,
      cachedRead: { partition: /^table POST#/, seconds: 1, instances: 10 },
    },
    // Comments: the comment in the post's partition (the thread is one Query of it); a hot post's
    // count on one of its comment counter shards (`POSTCOMMENTS#<postId>#<n>`, 4, n from the
    // comment's id), one family, folded into the counter item by the worker once per post per
    // batch. The comment's read of the post (a GetItem of its summary) is the request's own.
    comment: {
      families: [[/^(table POSTCOMMENTS#[^#]+#)\d+$/, COMMENT_SHARDS]],
      folded: /^table POST#/,
      requestReadsSummary: true,
    },
  };
  // Replies and 1 KB comments as comments: a hot post's reply counts on its parent's pointer
  // (`CMTID#<postId>#<parentId>`, shared by the replies to one comment), not on the parent.
  options.reply = options.comment;
  options['comment 1 KB'] = options.comment;
  const direct = {};
  for (const [name, run] of scenarios) {
    const row = await recorded(name, RUNS, run, options[name]);
    if (name in DIRECT_BOUND) direct[name] = row;
    rows.push(row);
  }
  // The anonymous front page is served from each instance's public cache (PUBLIC_CACHE_SECONDS=5
  // here): the database sees one read per instance per 5 s whatever the request rate, so 10
  // instances make 2 misses/s. Measured: one miss (a cold cache), then the hottest partition's
  // load at 2 misses/s against its limit.
  const front = await recorded('front page', 1, () => call(base, 'GET', '/api/v1/posts?limit=20'));
  const missesPerSecond = 10 / 5;
  const load = front.hottestRead.rcuPerOp * missesPerSecond;
  Object.assign(front, {
    maxRatePerSecond: load < LIMITS.read ? 'unbounded (cached)' : 0,
    meets: load < LIMITS.read,
    note: `one cache miss costs ${front.hottestRead.rcuPerOp} RCU on its hottest partition; 10 instances with a 5 s cache miss 2 times/s: ${round(load)} RCU/s of ${LIMITS.read}`,
  });
  rows.push(front);

  // The same likes and comments on a post that is hot on every instance (bound 0: all on shards),
  // then each row as the adaptive model combines the two (`adaptive`).
  await app.stop();
  app = await appWith(0);
  base = app.base;
  for (const [name, run] of [
    ['like', like(hotPost)],
    ['comment', comment(hotPost)],
    ['reply', reply(hotReplyPost, hotReplyParent)],
    ['comment 1 KB', comment(hotBigPost, BODY)],
  ]) {
    const hot = await recorded(name, RUNS, run, options[name]);
    const row = adaptive(name, direct[name], hot, DIRECT_BOUND[name]);
    // The comment rows with the post's direct likes beside them, as before review 13 M-b1 (a post
    // hot for comments now sends its likes to the shards: the row itself).
    if (name !== 'like')
      row.withDirectLikes = adaptive(name, direct[name], hot, DIRECT_BOUND[name], {
        partition: /^table POST#/,
        wcuPerSecond: DIRECT_LIKES_WCU,
        why: 'direct likes',
      }).maxRatePerSecond;
    rows[rows.indexOf(direct[name])] = row;
  }

  // Pending comments platform-wide (review 13, M-b2): the readers are not verified, so under
  // COMMENT_AUTO_APPROVE=verified (the default) each 1 KB comment is held for moderation and writes
  // the moderation queue's GSI1 entry (`MODERATION#pending#<n>`, 8 shards by comment id: a shard's
  // share, as the user listings'), each on a post of its own.
  await app.stop();
  app = await appWith(0, { COMMENT_AUTO_APPROVE: 'verified' });
  base = app.base;
  rows.push(
    await recorded('pending comment', RUNS, async (i) => {
      const res = await call(base, 'POST', `/api/v1/posts/${quietPosts[i].id}/comments`, {
        token: readers[i].token,
        body: { content: BODY },
      });
      if (res.json?.status !== 'pending') throw new Error(`pending comment: ${res.status} ${res.text.slice(0, 200)}`);
      return res;
    }),
  );

  console.log('\nPartition-key heat (per operation, the hottest partition):');
  const line = (row, label = row.pattern) =>
    `${label.padEnd(14)} ${String(row.runs).padStart(3)} ops  write ${String(row.hottestWrite.wcuPerOp).padStart(5)} WCU/op on ${row.hottestWrite.partition.padEnd(36)} read ${String(row.hottestRead.rcuPerOp).padStart(5)} RCU/op on ${row.hottestRead.partition.padEnd(28)} max ${String(row.maxRatePerSecond).padStart(9)}/s  target ${String(row.target).padStart(6)}/s  ${row.meets ? 'ok' : 'OVER'}  (computed ${row.computedWcu} WCU, reported ${row.reportedWcu})`;
  for (const row of rows)
    if (row.model) {
      console.log(line(row.direct, `${row.pattern} (direct)`));
      console.log(line(row.hot, `${row.pattern} (hot)`));
      const { partition, kind, direct: d, hot: h } = row.limitedBy;
      console.log(
        `${row.pattern.padEnd(14)} ${row.model}: max ${row.maxRatePerSecond}/s (the ${kind}s of ${partition}: ${d} a direct one, ${h} a hot one), target ${row.target}/s  ${row.meets ? 'ok' : 'OVER'}${row.withDirectLikes !== undefined ? `; with the post's direct likes (${DIRECT_LIKES_WCU} WCU/s, before review 13 M-b1): ${row.withDirectLikes}/s` : ''}`,
      );
    } else console.log(line(row));
  for (const row of rows.filter((r) => r.sampleHottestShard))
    console.log(
      `${row.pattern}: the sharded partitions as a shard's share of ${INDEX_SHARDS}; in this sample of ${row.runs} the busiest single shard was ${row.sampleHottestShard.partition} at ${row.sampleHottestShard.wcuPerOp} WCU/op`,
    );
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/heat-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, indexShards: INDEX_SHARDS, instances: INSTANCES, rows }, null, 2)}\n`,
  );
  console.log(`${front.pattern}: ${front.note}`);
  const view = rows.find((row) => row.pattern === 'view');
  if (view?.foldWcu !== undefined)
    console.log(
      `view: the stream's fold wrote ${view.foldWcu} WCU on the post's counter item for ${view.runs} views (once per post per batch: here the views came one at a time, at 20,000/s a batch holds many); the busiest of ${VIEW_SHARDS} shards took ${view.busiestShardWcuPerOp} WCU/op in this sample; the post's read (${view.cachedRead.rcuPerRead} RCU on ${view.cachedRead.partition}) remembered 1 s by 10 instances: ${view.cachedRead.rcuPerSecond} RCU/s of ${LIMITS.read}`,
    );
  const liked = rows.find((row) => row.pattern === 'like')?.hot;
  if (liked?.foldWcu !== undefined)
    console.log(
      `like (hot): the stream's fold wrote ${liked.foldWcu} WCU and its like-place check read ${liked.workerReadRcu ?? 0} RCU on the post's partition for ${liked.runs} likes (each once per post per stream batch, however many likes the batch holds); the busiest of ${LIKE_SHARDS} like shards took ${liked.busiestShardWcuPerOp} WCU/op in this sample; the post's read (${liked.cachedRead.rcuPerRead} RCU on ${liked.cachedRead.partition}) remembered 1 s by 10 instances: ${liked.cachedRead.rcuPerSecond} RCU/s of ${LIMITS.read}`,
    );
  const commented = rows.find((row) => row.pattern === 'comment')?.hot;
  if (commented?.foldWcu !== undefined)
    console.log(
      `comment (hot): the stream's fold wrote ${commented.foldWcu} WCU on the post's counter item for ${commented.runs} comments (once per post per stream batch); the busiest of ${COMMENT_SHARDS} comment shards took ${commented.busiestShardWcuPerOp} WCU/op in this sample`,
    );
  console.log(`\nwritten: ${file}`);
  await proxy.close();
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
