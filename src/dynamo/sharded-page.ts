import { type DynamoDBDocumentClient, type NativeAttributeValue, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { badRequest } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { CursorCodec } from './cursor.js';
import type { Page } from './pagination.js';
import { shardPartitions } from './sharding.js';
import { GSI, type GsiName } from './table.definition.js';

export interface ShardedIndexPageQuery {
  tableName: string;
  index: GsiName;
  /** The partition before its shard suffix (`USERS#STATUS#pending`): its shards are `<base>#<n>`. */
  base: string;
  limit: number;
  cursor?: string;
  /** Newest (highest sort key) first by default. */
  ascending?: boolean;
  /** Shard count (src/dynamo/sharding.ts); tests pass their own. */
  shards?: number;
}

type Item = Record<string, NativeAttributeValue>;

/**
 * One page of a listing whose partition is sharded (src/dynamo/sharding.ts): one Query per shard,
 * all in parallel (one round trip), each of at most `limit` entries after the cursor, then a k-way
 * merge in sort-key order. A page costs S Queries and at most S x `limit` entries read, however
 * many the directory holds (docs/data-model.md, "Sharded listing partitions").
 *
 * The cursor is the sort key of the page's last entry, sealed by the cursor codec and bound to
 * the index and base partition. Sort keys are unique across shards (`<time>#<id>`), so that one
 * key is every shard's position: each shard continues strictly after it (a key condition, so
 * nothing before it is read or billed). It stays a few dozen bytes however many shards there are,
 * where S LastEvaluatedKeys would near the codec's 2,048-character cap at 8 shards.
 *
 * Exact: an entry is on the page only when every shard that may hold more has been read past it
 * (a shard's Query can stop short of `limit` at 1 MB), so no entry is skipped; an entry added
 * between pages shows on a later page if it sorts after the cursor, and never twice.
 */
export async function queryShardedIndexPage(
  client: DynamoDBDocumentClient,
  cursors: CursorCodec,
  query: ShardedIndexPageQuery,
): Promise<Page<Item>> {
  const index = GSI[query.index];
  const scope = `${index.name}|${query.base}#*`;
  const after = decodePosition(cursors, query.cursor, scope);
  const descending = !(query.ascending ?? false);
  const shards = await Promise.all(
    shardPartitions(query.base, query.shards).map(async (partition) => {
      const result = await client.send(
        new QueryCommand({
          TableName: query.tableName,
          IndexName: index.name,
          KeyConditionExpression:
            after === undefined ? '#pk = :pk' : `#pk = :pk AND #sk ${descending ? '<' : '>'} :after`,
          ExpressionAttributeNames: {
            '#pk': index.partitionKey,
            ...(after === undefined ? {} : { '#sk': index.sortKey }),
          },
          ExpressionAttributeValues: { ':pk': partition, ...(after === undefined ? {} : { ':after': after }) },
          ScanIndexForward: !descending,
          Limit: query.limit,
        }),
      );
      return { items: result.Items ?? [], more: result.LastEvaluatedKey !== undefined };
    }),
  );
  const sortKey = (item: Item) => String(item[index.sortKey]);
  // `a` comes first in the listing's order.
  const before = (a: string, b: string) => (descending ? a > b : a < b);
  // The furthest point every shard with more entries has been read to: past it, a shard not read
  // further may hold entries that sort earlier than what the others returned.
  let frontier: string | undefined;
  for (const shard of shards) {
    if (!shard.more || shard.items.length === 0) continue;
    const last = sortKey(shard.items[shard.items.length - 1]);
    if (frontier === undefined || before(last, frontier)) frontier = last;
  }
  const merged = shards
    .flatMap((shard) => shard.items)
    .filter((item) => frontier === undefined || !before(frontier, sortKey(item)))
    .sort((a, b) => (sortKey(a) === sortKey(b) ? 0 : before(sortKey(a), sortKey(b)) ? -1 : 1));
  const items = merged.slice(0, query.limit);
  const more = merged.length > items.length || shards.some((shard) => shard.more);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: more && last ? cursors.encode({ after: sortKey(last) }, scope) : null,
  };
}

/** The sort key a cursor continues after: a sealed `{ after: <string> }` and nothing else. */
function decodePosition(cursors: CursorCodec, cursor: string | undefined, scope: string): string | undefined {
  const position = cursors.decode(cursor, scope);
  if (position === undefined) return undefined;
  const keys = Object.keys(position);
  if (keys.length !== 1 || keys[0] !== 'after' || typeof position.after !== 'string' || position.after === '')
    throw badRequest(ErrorCode.InvalidCursor, 'The cursor is malformed, tampered with, or from another listing.');
  return position.after;
}
