import type { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CursorCodec } from './cursor.js';
import { queryShardedIndexPage } from './sharded-page.js';
import { INDEX_SHARDS, shardOf, shardPartition } from './sharding.js';

const SECRET = 'a-secret-that-is-at-least-32-bytes-long!!';

interface Entry {
  GSI1PK: string;
  GSI1SK: string;
  id: string;
}

/**
 * An in-memory GSI1 answering the Queries the merge sends: the partition, an optional
 * `GSI1SK < :after` (or `>`), the order and `Limit`; `truncateAt` stops a shard's Query early
 * with a LastEvaluatedKey, as DynamoDB does at 1 MB.
 */
function fakeIndex(truncateAt?: number) {
  const entries: Entry[] = [];
  const queries: QueryCommand['input'][] = [];
  const client = {
    send: (command: QueryCommand) => {
      const input = command.input;
      queries.push(input);
      const values = input.ExpressionAttributeValues as Record<string, string>;
      const ascending = input.ScanIndexForward === true;
      let rows = entries.filter((e) => e.GSI1PK === values[':pk']);
      const range = /#sk (<=|>=|<|>) :after$/.exec(String(input.KeyConditionExpression))?.[1];
      const after = values[':after'];
      if (range === '<') rows = rows.filter((e) => e.GSI1SK < after);
      if (range === '<=') rows = rows.filter((e) => e.GSI1SK <= after);
      if (range === '>') rows = rows.filter((e) => e.GSI1SK > after);
      if (range === '>=') rows = rows.filter((e) => e.GSI1SK >= after);
      rows.sort((a, b) => (a.GSI1SK < b.GSI1SK ? -1 : 1));
      if (!ascending) rows.reverse();
      const take = Math.min(input.Limit ?? rows.length, truncateAt ?? Infinity);
      const items = rows.slice(0, take);
      return Promise.resolve({
        Items: items,
        LastEvaluatedKey: rows.length > take ? { GSI1SK: items[take - 1].GSI1SK } : undefined,
      });
    },
  } as unknown as DynamoDBDocumentClient;
  const add = (id: string, at: string) =>
    entries.push({ GSI1PK: shardPartition('THINGS', shardOf(id)), GSI1SK: `${at}#${id}`, id });
  return { client, entries, queries, add };
}

const at = (n: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + n * 1000).toISOString();

describe('queryShardedIndexPage', () => {
  let cursors: CursorCodec;
  beforeEach(() => {
    cursors = new CursorCodec(SECRET);
  });

  async function walk(client: DynamoDBDocumentClient, limit: number, ascending = false) {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await queryShardedIndexPage(client, cursors, {
        tableName: 't',
        index: 'GSI1',
        base: 'THINGS',
        limit,
        cursor,
        ascending,
      });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((item) => String(item.id)));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 1000);
    return { ids, pages };
  }

  it('derives the shard with FNV-1a, fixed: stored entries sit in the shard their id gave when written', () => {
    // FNV-1a (32 bits) of "a" is 0xe40c292c (the published test vector): 0xe40c292c % 8 = 4.
    expect(0xe40c292c % 8).toBe(4);
    expect(shardOf('a')).toBe(4);
    expect(shardOf('V1StGXR8_Z5jdHi6B-myT')).toBe(4);
    expect(shardOf('evt_0123456789abcdef0123456789abcdef')).toBe(7);
    expect(shardOf('a', 1_000_000)).toBe(0xe40c292c % 1_000_000);
  });

  it('spreads ids over every shard', () => {
    const used = new Set(Array.from({ length: 400 }, (_, i) => shardOf(`user-${i}`)));
    expect([...used].sort((a, b) => a - b)).toEqual(Array.from({ length: INDEX_SHARDS }, (_, n) => n));
  });

  it.each([1, 3, 7, 20])('walks every entry once, in the order of one partition, with pages of %i', async (limit) => {
    const index = fakeIndex();
    for (let i = 0; i < 53; i++) index.add(`id${i}`, at(i));
    const expected = [...index.entries].sort((a, b) => (a.GSI1SK < b.GSI1SK ? 1 : -1)).map((e) => e.id);
    const { ids } = await walk(index.client, limit);
    expect(ids).toEqual(expected);
    // The same entries oldest first.
    expect((await walk(index.client, limit, true)).ids).toEqual([...expected].reverse());
  });

  it('reads each shard once per page, in parallel, at most a page from each', async () => {
    const index = fakeIndex();
    for (let i = 0; i < 200; i++) index.add(`id${i}`, at(i));
    const page = await queryShardedIndexPage(index.client, cursors, {
      tableName: 't',
      index: 'GSI1',
      base: 'THINGS',
      limit: 5,
    });
    expect(page.items).toHaveLength(5);
    expect(index.queries.map((q) => (q.ExpressionAttributeValues as Record<string, string>)[':pk']).sort()).toEqual(
      Array.from({ length: INDEX_SHARDS }, (_, n) => `THINGS#${n}`).sort(),
    );
    expect(index.queries.every((q) => q.Limit === 5 && q.IndexName === 'GSI1')).toBe(true);
  });

  it('misses nothing when a shard stops short of the page (the 1 MB cap)', async () => {
    const index = fakeIndex(2);
    for (let i = 0; i < 40; i++) index.add(`id${i}`, at(i));
    // The 10 newest all in one shard: the other shards' first entries sort after its third.
    const crowded = Array.from({ length: 400 }, (_, i) => `hot${i}`).filter((id) => shardOf(id) === 0);
    crowded.slice(0, 10).forEach((id, i) => index.add(id, at(100 + i)));
    const expected = [...index.entries].sort((a, b) => (a.GSI1SK < b.GSI1SK ? 1 : -1)).map((e) => e.id);
    expect((await walk(index.client, 10)).ids).toEqual(expected);
  });

  it('shows entries added between pages once, where they sort, and none before the cursor', async () => {
    const index = fakeIndex();
    for (let i = 0; i < 30; i++) index.add(`old${i}`, at(i * 10));
    const first = await queryShardedIndexPage(index.client, cursors, {
      tableName: 't',
      index: 'GSI1',
      base: 'THINGS',
      limit: 10,
    });
    // One newer than everything (before the cursor: not shown again), one in the rest.
    index.add('newest', at(10_000));
    index.add('middle', at(55));
    const seen = first.items.map((item) => String(item.id));
    let cursor = first.nextCursor ?? undefined;
    while (cursor) {
      const page = await queryShardedIndexPage(index.client, cursors, {
        tableName: 't',
        index: 'GSI1',
        base: 'THINGS',
        limit: 10,
        cursor,
      });
      seen.push(...page.items.map((item) => String(item.id)));
      cursor = page.nextCursor ?? undefined;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('middle');
    expect(seen).not.toContain('newest');
    expect(seen).toHaveLength(31);
  });

  it('refuses a tampered cursor, one of another listing, and a sealed value that is not a position', async () => {
    const index = fakeIndex();
    for (let i = 0; i < 20; i++) index.add(`id${i}`, at(i));
    const query = { tableName: 't', index: 'GSI1' as const, base: 'THINGS', limit: 5 };
    const { nextCursor } = await queryShardedIndexPage(index.client, cursors, query);
    const bytes = Buffer.from(nextCursor!, 'base64url');
    bytes[20] ^= 0x01;
    const invalid = expect.objectContaining({ status: 400, code: 'invalid_cursor' });
    for (const cursor of [
      bytes.toString('base64url'),
      cursors.encode({ after: 'x' }, 'GSI1|OTHER#*')!,
      cursors.encode({ PK: 'THINGS#1', SK: 'x' }, 'GSI1|THINGS#*')!,
      cursors.encode({ after: 3 }, 'GSI1|THINGS#*')!,
    ])
      await expect(queryShardedIndexPage(index.client, cursors, { ...query, cursor })).rejects.toEqual(invalid);
    // The single-partition cursor of the same listing before it was sharded.
    const legacy = cursors.encode({ GSI1PK: 'THINGS', GSI1SK: 'x', PK: 'a', SK: 'b' }, 'GSI1|THINGS');
    await expect(queryShardedIndexPage(index.client, cursors, { ...query, cursor: legacy! })).rejects.toEqual(invalid);
  });

  it('gives no cursor on the last page', async () => {
    const index = fakeIndex();
    for (let i = 0; i < 3; i++) index.add(`id${i}`, at(i));
    const page = await queryShardedIndexPage(index.client, cursors, {
      tableName: 't',
      index: 'GSI1',
      base: 'THINGS',
      limit: 5,
    });
    expect(page.items).toHaveLength(3);
    expect(page.nextCursor).toBeNull();
  });
});
