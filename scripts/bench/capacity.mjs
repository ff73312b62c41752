// The capacity part of `npm run bench`: DynamoDB calls, RCU and WCU of each access pattern, read
// from the app's own per-request accounting (`Server-Timing`), and the table grown between rounds
// by cloning the fixture's items under new ids.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchWriteCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { UserIndexKeys } from '../../dist/dynamo/keys.js';
import { INDEX_PATTERNS } from '../../dist/dynamo/schema.js';
import { INDEX_SHARDS, shardPartitions } from '../../dist/dynamo/sharding.js';
import { GSI } from '../../dist/dynamo/table.definition.js';
import { call, register } from '../reliability/lib.mjs';

const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);

/** `Server-Timing: db;dur=..;desc="dynamodb calls=N rcu=R wcu=W"` as numbers. */
export function costOf(res) {
  const match = /calls=(\d+) rcu=([\d.]+) wcu=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  if (!match) throw new Error(`no DynamoDB accounting on a ${res.status} answer: ${res.text.slice(0, 200)}`);
  return { calls: Number(match[1]), rcu: Number(match[2]), wcu: Number(match[3]) };
}

/** The "calls" column of docs/data-model.md's "Every request" table, by pattern number. */
export function documentedCalls() {
  const text = readFileSync(new URL('../../docs/data-model.md', import.meta.url), 'utf8');
  const rows = new Map();
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (/^\d+$/.test(cells[1] ?? '') && cells.length >= 7) rows.set(Number(cells[1]), cells[5]);
  }
  return rows;
}

const anonymous = (request) => Object.assign(request, { signedIn: false });

/** A 21-character id in the app's alphabet (a nanoid's shape). */
export const newId = () => randomBytes(16).toString('base64url').slice(0, 21).padEnd(21, 'x');

async function ok(res, what) {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

/** The data every pattern works on, written through the API. */
export async function createFixture(base, admin) {
  const author = await register(base, 'bench-author');
  const reader = await register(base, 'bench-reader');
  const as = (user) => ({ token: user.token });
  const tag = (await ok(await call(base, 'POST', '/api/v1/tags', { ...as(admin), body: { name: 'Bench' } }), 'tag'))
    .json;
  const category = (
    await ok(await call(base, 'POST', '/api/v1/categories', { ...as(admin), body: { name: 'Benchmarks' } }), 'category')
  ).json;
  const post = await publishedPost(base, author, tag, category, 'Template post');
  await ok(await call(base, 'PUT', `/api/v1/posts/${post.id}/like`, as(reader)), 'like');
  const comment = (
    await ok(
      await call(base, 'POST', `/api/v1/posts/${post.id}/comments`, { ...as(reader), body: { content: BODY } }),
      'comment',
    )
  ).json;
  await ok(await call(base, 'PUT', `/api/v1/users/${author.userId}/follow`, as(reader)), 'follow');
  return { admin, author, reader, tag, category, post, comment };
}

async function publishedPost(base, author, tag, category, title) {
  const created = await call(base, 'POST', '/api/v1/posts', {
    token: author.token,
    body: { title, content: BODY, tagIds: [tag.id], categoryId: category.id },
  });
  await ok(created, 'create post');
  await ok(await call(base, 'POST', `/api/v1/posts/${created.json.id}/publish`, { token: author.token }), 'publish');
  return created.json;
}

/** What a grown table is made of: the fixture's post, its reader and comment, copied under new ids. */
const CLONED_ENTITIES = new Set([
  'User',
  'Profile',
  'UserLogin',
  'Post',
  'PostContent',
  'PostCounts',
  'PostLink',
  'Like',
  'Comment',
  'CommentPointer',
  'Follow',
  'FollowCounts',
  'TimelineEntry',
]);

/**
 * The items a clone copies: every item of a cloned entity that names the template post, reader or
 * comment (uniqueness claims, sessions and rate counters are not copied: a copy would overwrite the
 * original). One Scan of the small fixture table: bench tooling, not a request path.
 */
export async function templateOf(db, tableName, fixture) {
  const ids = [fixture.post.id, fixture.reader.userId, fixture.comment.id];
  const items = [];
  let ExclusiveStartKey;
  do {
    const page = await db.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const template = items.filter(
    (item) => CLONED_ENTITIES.has(item.entity) && ids.some((id) => JSON.stringify(item, replacer).includes(id)),
  );
  return { ids, items: template, tableItems: items.length };
}

export const replacer = (_key, value) => (value instanceof Set ? [...value] : value);

export function substitute(value, from, to) {
  if (typeof value === 'string') return from.reduce((text, id, i) => text.split(id).join(to[i]), value);
  if (value instanceof Set) return new Set([...value].map((v) => substitute(v, from, to)));
  if (Array.isArray(value)) return value.map((v) => substitute(v, from, to));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, from, to)]));
  return value;
}

/**
 * A copied item under its new ids. A user's listing keys name its shard, which comes from its id
 * (src/dynamo/sharding.ts): the copy's are built again by the app's key builder, so the copies
 * spread over the shards as registered users do (before session 21 every copy stayed in the
 * template reader's shard, and the admin listing's other 7 shards held only the bench's own users).
 */
function copyOf(item, from, to) {
  const copy = substitute(item, from, to);
  return copy.entity === 'User' ? Object.assign(copy, UserIndexKeys.forUser(copy)) : copy;
}

/** Adds copies of the template until the table holds about `target` items; returns the new total. */
export async function growTo(db, tableName, template, current, target) {
  const perClone = template.items.length;
  const clones = Math.max(0, Math.ceil((target - current) / perClone));
  const items = [];
  for (let c = 0; c < clones; c++) {
    const to = template.ids.map(() => newId());
    for (const item of template.items) items.push(copyOf(item, template.ids, to));
  }
  await putAll(db, tableName, items);
  return current + items.length;
}

/** Writes `items`, 25 a `BatchWriteItem`, 8 in flight, retrying what DynamoDB leaves unprocessed. */
export async function putAll(db, tableName, items) {
  const batches = [];
  for (let i = 0; i < items.length; i += 25)
    batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        let RequestItems = { [tableName]: batches[next++] };
        for (let attempt = 0; RequestItems[tableName]?.length; attempt++) {
          const result = await db.send(new BatchWriteCommand({ RequestItems }));
          RequestItems = result.UnprocessedItems ?? {};
          if (attempt > 20) throw new Error('BatchWriteItem kept leaving items unprocessed');
        }
      }
    }),
  );
}

/**
 * The bound of a listing merged from the shards of its index partition (src/dynamo/sharded-page.ts),
 * from the app's declarations: a page is one Query of each of the `INDEX_SHARDS` shards, each of
 * at most `limit` entries, however many the table holds (docs/data-model.md, "Sharded listing
 * partitions"). Its cost grows with the table until every shard holds a page, and not after.
 */
export function shardedPageBound(patternName, listing, limit) {
  const pattern = INDEX_PATTERNS[patternName];
  if (pattern?.index !== listing.index) throw new Error(`${patternName} is not the index pattern of ${listing.base}`);
  return {
    pattern: patternName,
    index: listing.index,
    partitions: shardPartitions(listing.base),
    limit,
    queries: INDEX_SHARDS,
    about: `each of ${INDEX_SHARDS} shards holds a page of ${limit}`,
  };
}

/**
 * Whether every shard of a sharded listing holds at least a page (so a page reads the most it
 * ever will): a COUNT Query of each shard, at most `limit` entries each. Bench tooling, not a
 * request path; not inside any measured request.
 */
export async function shardsFull(db, tableName, bound) {
  const index = GSI[bound.index];
  const counts = await Promise.all(
    bound.partitions.map(
      async (partition) =>
        (
          await db.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: index.name,
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': index.partitionKey },
              ExpressionAttributeValues: { ':pk': partition },
              Select: 'COUNT',
              Limit: bound.limit,
            }),
          )
        ).Count ?? 0,
    ),
  );
  return counts.every((count) => count >= bound.limit);
}

/** The admin user listing's page of 20: all users, 8 shards merged (INDEX_PATTERNS.usersAll). */
const ADMIN_LISTING_BOUND = shardedPageBound('usersAll', UserIndexKeys.listing({}), 20);

/**
 * The patterns measured at each table size, each with its row in docs/data-model.md. Reads run
 * twice and report the second (a slug or category cache warmed by the first is what a busy
 * instance sees); writes run once on items made for the round, so each is a real first write.
 * A pattern with a declared bound (`shardedPageBound`) also records whether the table reached it
 * (`atBound`), read through `db` before the pattern runs.
 */
export async function measurePatterns(base, fixture, round, { db, tableName }) {
  const { admin, author, reader, tag, category, post } = fixture;
  const results = [];
  const measure = async (row, name, kind, request, bound) => {
    const atBound = bound ? await shardsFull(db, tableName, bound) : undefined;
    let res = await request();
    if (kind === 'read') res = await request();
    await ok(res, name);
    // How many items a listing returned: a fuller page costs more, and that is not growth.
    const listed = Array.isArray(res.json?.items) ? res.json.items.length : undefined;
    const signedIn = request.signedIn ?? kind === 'write';
    results.push({ row, name, kind, signedIn, listed, ...costOf(res), ...(bound ? { bound, atBound } : {}) });
    return res;
  };
  const get = (path, user) =>
    Object.assign(() => call(base, 'GET', path, user ? { token: user.token } : {}), { signedIn: Boolean(user) });

  // Reads.
  await measure(5, 'readiness probe', 'read', get('/health/ready'));
  await measure(2, 'public user by id', 'read', get(`/api/v1/users/${author.userId}`));
  await measure(14, 'my account with profile', 'read', get('/api/v1/users/me', reader));
  await measure(9, 'list my sessions', 'read', get('/api/v1/auth/sessions', reader));
  await measure(
    19,
    'admin user listing, page of 20',
    'read',
    get('/api/v1/users?limit=20', admin),
    ADMIN_LISTING_BOUND,
  );
  await measure(22, 'category tree', 'read', get('/api/v1/categories'));
  await measure(26, 'tags by use', 'read', get('/api/v1/tags?sort=popular'));
  await measure(30, 'post by id', 'read', get(`/api/v1/posts/${post.id}`));
  await measure(31, 'global feed, page of 20', 'read', get('/api/v1/posts?limit=20'));
  await measure(32, 'author feed, page of 20', 'read', get(`/api/v1/posts?author=${author.userId}&limit=20`));
  await measure(33, 'tag feed, page of 20', 'read', get(`/api/v1/posts?tag=${tag.slug}&limit=20`));
  await measure(33, 'category feed, page of 20', 'read', get(`/api/v1/posts?category=${category.slug}&limit=20`));
  await measure(36, 'my likes, page of 20', 'read', get('/api/v1/users/me/likes?limit=20', reader));
  await measure(40, 'thread page of 20', 'read', get(`/api/v1/posts/${post.id}/comments?limit=20`));
  await measure(52, 'followers, page of 20', 'read', get(`/api/v1/users/${author.userId}/followers?limit=20`));
  await measure(53, 'personal feed, page of 20', 'read', get('/api/v1/feed?limit=20', reader));

  // Writes, each on items of this round.
  const created = await measure(28, 'create post (1 tag, 1 category)', 'write', () =>
    call(base, 'POST', '/api/v1/posts', {
      token: author.token,
      body: { title: `Round ${round}`, content: BODY, tagIds: [tag.id], categoryId: category.id },
    }),
  );
  const id = created.json.id;
  await measure(29, 'publish post', 'write', () =>
    call(base, 'POST', `/api/v1/posts/${id}/publish`, { token: author.token }),
  );
  await measure(
    37,
    'count a view (first)',
    'write',
    anonymous(() => call(base, 'POST', `/api/v1/posts/${id}/views`)),
  );
  await measure(35, 'like a post', 'write', () => call(base, 'PUT', `/api/v1/posts/${id}/like`, reader));
  await measure(35, 'unlike a post', 'write', () => call(base, 'DELETE', `/api/v1/posts/${id}/like`, reader));
  await measure(39, 'approved comment of 1 KB', 'write', () =>
    call(base, 'POST', `/api/v1/posts/${id}/comments`, { token: reader.token, body: { content: BODY } }),
  );
  const followed = await register(base, `bench-followed-${round}`);
  await measure(51, 'follow a user', 'write', () =>
    call(base, 'PUT', `/api/v1/users/${followed.userId}/follow`, reader),
  );
  await measure(51, 'unfollow a user', 'write', () =>
    call(base, 'DELETE', `/api/v1/users/${followed.userId}/follow`, reader),
  );
  await measure(
    6,
    'login',
    'write',
    anonymous(() =>
      call(base, 'POST', '/api/v1/auth/login', { body: { email: reader.email, password: 'password-1234' } }),
    ),
  );
  await measure(
    1,
    'register (and sign in)',
    'write',
    anonymous(() =>
      call(base, 'POST', '/api/v1/auth/register', {
        body: { email: `bench-${round}-${newId()}@example.com`, password: 'password-1234' },
      }),
    ),
  );
  return results;
}
