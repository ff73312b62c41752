import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { LIKE_SHARDS, shardOf } from '../dynamo/sharding.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import type { TransactItem } from '../dynamo/transactions.js';
import { snapshotSum, versionedFoldPlan } from './versioned-fold.js';
import type { ShardSnapshot } from './view-shards.js';

/**
 * Write-sharded likes (issue 15: 2,000 likes/s on one post, and still exact), for a post that is
 * hot on the instance (src/posts/like-heat.ts; the likes of other posts are counted on its counter
 * item, in `likeCount` at once, their items here all the same). A like of a hot post writes
 * nothing in its post's partition: its item and the counter that counts it live in one of the
 * post's `LIKE_SHARDS` like shards (`POSTLIKES#<postId>#<n>`, n from the liker's id: an unlike
 * hits the shard its like hit), in one transaction with the liker's `likedCount`, so a like by the
 * same user twice still counts once and the shard's `likeCount` is exact under any concurrency.
 *
 * Readers never read the shards. The stream processor folds each shard's count into the post's
 * counter item (`COUNTS`), as views do (src/posts/view-shards.ts): a snapshot `ls<n>`, and
 * the read adds the snapshots to `COUNTS.likeCount` (the likes counted there before the shards, kept
 * as a base: an unlike of an older like takes its shard below 0, and the sum stays exact). Unlike
 * views, likes go down, so a snapshot cannot be ordered by its value: each shard carries a
 * `version` raised by every change (`ADD version 1` in the like's transaction), the fold stores it
 * beside the snapshot (`lv<n>`) and writes a snapshot only over an older version. A
 * record delivered twice, or a batch replayed, sets what is there already; an older batch after a
 * newer one changes nothing. The displayed `likeCount` is exact once the processor has folded the
 * shards (usually within a second).
 *
 * A deleted post: its cascade puts a tombstone (with a `ttl`) on every like counter shard first,
 * so a like that read the post before the deletion and writes after fails on it, then removes the
 * likes it finds in the shards (each with its liker's `likedCount - 1`), so one written before the
 * tombstone is removed too. Nothing is left behind, and nothing of the like touches the post's
 * partition (no ConditionCheck on the summary).
 */

type Item = Record<string, NativeAttributeValue>;

/** The like shard of a liker (a like, its unlike and its counter change all go there). */
export const likeShardOf = (userId: string): number => shardOf(userId, LIKE_SHARDS);

/**
 * The snapshot attribute of like shard `n` on the counter item, and the version it was taken at.
 * Short names: the counter item holds them beside the 32 view snapshots and must stay under 1 KB
 * (a write of it is then 1 WCU, 2 in a transaction: a comment's count change writes it).
 */
export const likeShardSnapshot = (shard: number): string => `ls${shard}`;
export const likeShardVersion = (shard: number): string => `lv${shard}`;
const SNAPSHOT = /^ls\d+$/;

/** The likes the counter item's snapshots hold (the read adds its `likeCount` base). */
export const snapshotLikes = (item: Item | undefined): number => snapshotSum(item, SNAPSHOT);

/**
 * `ADD likeCount <delta>, version 1` on the liker's like shard (created by its first like), in
 * the like's transaction; a deleted post's shard tombstone fails it (`onPostGone`).
 */
export function likeShardChange(tableName: string, postId: string, userId: string, delta: 1 | -1): TransactItem {
  return {
    Update: {
      TableName: tableName,
      Key: Keys.postLikeShard(postId, likeShardOf(userId)),
      UpdateExpression: 'SET entity = :entity ADD likeCount :delta, version :one',
      ConditionExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeValues: { ':entity': ENTITY.PostLikeShard, ':delta': delta, ':one': 1 },
    },
  };
}

/**
 * Per post, each like shard's count at its newest version in these changes: what one fold writes.
 * Removals and tombstones are not counts.
 */
export const likeFoldPlan = (changes: readonly { change: ItemChange; id: string }[]): Map<string, ShardSnapshot[]> =>
  versionedFoldPlan({ counter: 'likeCount', snapshot: likeShardSnapshot, version: likeShardVersion }, changes);

/** Tombstones on every like counter shard of a deleted post (put by its cascade; they expire at `ttl`). */
export function likeShardTombstones(postId: string, deletedAt: string, ttl: number): Item[] {
  return Array.from({ length: LIKE_SHARDS }, (_, n) => ({
    ...Keys.postLikeShard(postId, n),
    entity: ENTITY.PostLikeShard,
    deletedAt,
    ttl,
  }));
}

/**
 * Where a run over a post's likes goes on (the like-place sync): the shard and the last like's sort
 * key in it, as `<n>#<SK>`.
 */
export const likeCursor = (shard: number, sortKey: string): string => `${shard}#${sortKey}`;
export function parseLikeCursor(cursor: string | undefined): { shard: number; after?: string } {
  if (cursor === undefined) return { shard: 0 };
  const at = cursor.indexOf('#');
  const shard = Number(cursor.slice(0, at));
  // A cursor of the layout before the like shards (a sort key in the post's partition): start over.
  if (at < 0 || !Number.isSafeInteger(shard) || shard < 0 || shard >= LIKE_SHARDS) return { shard: 0 };
  return { shard, after: cursor.slice(at + 1) };
}
