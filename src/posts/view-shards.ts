import { randomInt } from 'node:crypto';
import type { NativeAttributeValue, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { ENTITY, type ItemKey, Keys } from '../dynamo/keys.js';
import type { ItemChange } from '../dynamo/stream-record.js';

/**
 * Write-sharded view counters (issue 15: one viral post takes 20,000 views/s, and one partition
 * key takes 1,000 WCU/s). A view adds 1 to one of `VIEW_COUNTER_SHARDS` shard items, picked at
 * random, each a partition of its own (`VIEWS#<postId>#<n>`): at 32 shards, 20,000 views/s are
 * about 625 WCU/s on each.
 *
 * Readers never read the shards. The stream processor folds them into the post's counter item
 * (`COUNTS`, which every read already reads): per shard, a snapshot attribute (`viewShard<n>`)
 * set to the shard's latest count, and the read sums the snapshots with the counter item's
 * `viewCount` (the views counted before the shards, which stays as a base). A snapshot is an
 * absolute value, only ever raised, so a stream record delivered twice, or a batch replayed, sets
 * what is there already: nothing is counted twice. And a batch's records are coalesced: one write
 * of the counter item per post per batch (per 32 shards of it: `FOLD_MAX_SNAPSHOTS`), however many views the batch holds, so the counter item's
 * write rate follows the stream's batches, not the views.
 *
 * A deleted post: the delete transaction leaves a tombstone on the counter item (a fold writes
 * nothing over it), and its cascade puts a tombstone (with a `ttl`) on every shard, so a view that
 * read the post before the deletion and writes after the cascade fails its condition, and one that
 * writes before the cascade is overwritten by it. Nothing is left behind: the tombstones expire.
 * So `VIEW_COUNTER_SHARDS` may be raised at any time but must not be lowered while posts that used
 * the higher shards exist (their deletion tombstones only the shards below the setting).
 */

type Item = Record<string, NativeAttributeValue>;

/** An UpdateItem that also fits a transaction's `Update`. */
type Update = UpdateCommandInput & { TableName: string; Key: ItemKey; UpdateExpression: string };

/** The snapshot attribute of shard `n` on the counter item. */
export const shardSnapshot = (shard: number): string => `viewShard${shard}`;
const SNAPSHOT = /^viewShard\d+$/;

/** The views the counter item's snapshots hold (the read adds its `viewCount` base). */
export function snapshotViews(item: Item | undefined): number {
  if (!item) return 0;
  let sum = 0;
  for (const [name, value] of Object.entries(item)) if (SNAPSHOT.test(name) && typeof value === 'number') sum += value;
  return sum;
}

/** A shard for one view, uniformly at random. */
export const pickShard = (shards: number): number => randomInt(shards);

/** The shard's number from its key (`VIEWS#<postId>#<n>`). */
export function shardNumber(key: { PK: string }): number | undefined {
  const n = Number(key.PK.slice(key.PK.lastIndexOf('#') + 1));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `ADD viewCount 1` on a shard (created by its first view), refused by a deleted post's shard tombstone. */
export function shardIncrement(tableName: string, postId: string, shard: number): Update {
  return {
    TableName: tableName,
    Key: Keys.postViewShard(postId, shard),
    UpdateExpression: 'SET entity = :entity ADD viewCount :one',
    ConditionExpression: 'attribute_not_exists(deletedAt)',
    ExpressionAttributeValues: { ':entity': ENTITY.PostViewShard, ':one': 1 },
  };
}

/**
 * Per post, the highest count each shard reached in these changes (stream order within a shard
 * is the order of its writes, and counts only grow): what one fold writes. Removals and
 * tombstones are not counts.
 */
export function foldPlan(changes: readonly { change: ItemChange; id: string }[]): Map<string, Map<number, number>> {
  const plan = new Map<string, Map<number, number>>();
  for (const { change, id } of changes) {
    const count: unknown = change.newImage?.viewCount;
    const shard = shardNumber(change.key);
    if (change.event === 'REMOVE' || change.newImage?.deletedAt !== undefined) continue;
    if (typeof count !== 'number' || shard === undefined || !id) continue;
    const shards = plan.get(id) ?? new Map<number, number>();
    shards.set(shard, Math.max(count, shards.get(shard) ?? 0));
    plan.set(id, shards);
  }
  return plan;
}

/**
 * One shard's snapshot on the counter item: `attribute` set to `value`, ordered by `order` (an
 * attribute holding `orderValue`): a view shard's own count (only ever raised), a like shard's
 * `lv<n>` (likes go down, so their order is the shard's version: src/posts/like-shards.ts).
 */
export interface ShardSnapshot {
  attribute: string;
  value: number;
  order: string;
  orderValue: number;
}

/** A view shard's snapshot: its count, ordered by itself. */
export const viewSnapshot = (shard: number, count: number): ShardSnapshot => ({
  attribute: shardSnapshot(shard),
  value: count,
  order: shardSnapshot(shard),
  orderValue: count,
});

/**
 * The most snapshots one fold's UpdateItem sets (review 20a M2). Each adds a condition term of
 * about 50 characters (a like shard's, with its order attribute, about 60) and an assignment, and
 * DynamoDB refuses an expression over 4 KB: one update for 100 view shards (`VIEW_COUNTER_SHARDS`
 * allows 100) had a condition of 4,828 to 4,926 characters, so every batch holding 84 or more shards of one post
 * failed. A post with more snapshots to fold gets one update per 32 (each under 2 KB; measured in
 * view-shards.spec.ts). Each is complete on its own: a snapshot is absolute, so a fold cut short
 * between two updates leaves counts that are right so far and are raised by the retry.
 */
export const FOLD_MAX_SNAPSHOTS = 32;

/**
 * The fold of one post's shards into its counter item, as one UpdateItem (at most
 * `FOLD_MAX_SNAPSHOTS` of them: the caller splits): every snapshot set, on
 * condition that none stored is further on (an equal one is a replay, set again harmlessly) and that
 * the item is not a tombstone. `create`: the counter item does not exist yet (a post with no view,
 * like or comment so far) and is created; else it must exist. A failure on a newer snapshot
 * (an older batch delivered after a newer one) is resolved shard by shard (`strict`: `<`).
 */
export function snapshotFoldUpdate(
  tableName: string,
  postId: string,
  snapshots: readonly ShardSnapshot[],
  { create = false, strict = false }: { create?: boolean; strict?: boolean } = {},
): Update {
  const names: Record<string, string> = {};
  const values: Record<string, NativeAttributeValue> = { ':entity': ENTITY.PostCounts };
  const sets = ['entity = :entity'];
  const conditions = [create ? 'attribute_not_exists(PK)' : 'attribute_exists(PK) AND attribute_not_exists(deletedAt)'];
  snapshots.forEach((snapshot, i) => {
    names[`#s${i}`] = snapshot.attribute;
    values[`:s${i}`] = snapshot.value;
    sets.push(`#s${i} = :s${i}`);
    let order = `#s${i}`;
    if (snapshot.order !== snapshot.attribute) {
      names[`#o${i}`] = snapshot.order;
      values[`:o${i}`] = snapshot.orderValue;
      sets.push(`#o${i} = :o${i}`);
      order = `#o${i}`;
    }
    const bound = order === `#s${i}` ? `:s${i}` : `:o${i}`;
    if (!create) conditions.push(`(attribute_not_exists(${order}) OR ${order} ${strict ? '<' : '<='} ${bound})`);
  });
  return {
    TableName: tableName,
    Key: Keys.postCounts(postId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The fold of one post's view shards (`snapshots`: shard number to count): see `snapshotFoldUpdate`. */
export function foldUpdate(
  tableName: string,
  postId: string,
  snapshots: ReadonlyMap<number, number>,
  options: { create?: boolean; strict?: boolean } = {},
): Update {
  return snapshotFoldUpdate(
    tableName,
    postId,
    [...snapshots].map(([shard, count]) => viewSnapshot(shard, count)),
    options,
  );
}

/** Tombstones on shards `0..shards-1` of a deleted post (put by its cascade; they expire at `ttl`). */
export function shardTombstones(postId: string, shards: number, deletedAt: string, ttl: number): Item[] {
  return Array.from({ length: shards }, (_, n) => ({
    ...Keys.postViewShard(postId, n),
    entity: ENTITY.PostViewShard,
    deletedAt,
    ttl,
  }));
}
