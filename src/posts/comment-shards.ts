import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { COMMENT_SHARDS, shardOf } from '../dynamo/sharding.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import type { TransactItem } from '../dynamo/transactions.js';
import { snapshotSum, versionedFoldPlan } from './versioned-fold.js';
import type { ShardSnapshot } from './view-shards.js';

/**
 * Write-sharded comment counts (issue 15: 200 comments/s on one post, and still exact), for a post
 * that is hot on the instance (src/posts/like-heat.ts, `COMMENT_DIRECT_MAX_PER_SECOND`): a new
 * comment of such a post counts on one of its `COMMENT_SHARDS` comment counter shards
 * (`POSTCOMMENTS#<postId>#<n>`, n from the comment's id) instead of the post's counter item, in
 * the comment's transaction. The comment itself stays in the post's partition (the thread is one
 * Query), 2 WCU there; the counter item's 2 more go elsewhere. Other posts' comments, and every
 * other change of a comment's count (moderation, deletion), count on the counter item, in
 * `commentCount` at once: the displayed count is the sum of both, so a comment counted on a shard
 * and deleted later (-1 on the counter item) leaves it exact.
 *
 * As the like shards (src/posts/like-shards.ts): each change raises the shard's `version`, the
 * stream folds a shard's count into the counter item (`cs<n>`, at version `cv<n>`) only over an older
 * version, and a deleted post's cascade puts a tombstone on every shard first, so a comment that read
 * the post before the deletion and writes after fails on it (one written before is found by the
 * cascade's Query of the post's partition and removed with it).
 */

type Item = Record<string, NativeAttributeValue>;

/** The comment counter shard of a new comment. */
export const commentShardOf = (commentId: string): number => shardOf(commentId, COMMENT_SHARDS);

/** Snapshot attribute of comment shard `n` on the counter item, and its version (short: COUNTS stays under 1 KB). */
export const commentShardSnapshot = (shard: number): string => `cs${shard}`;
export const commentShardVersion = (shard: number): string => `cv${shard}`;
const SNAPSHOT = /^cs\d+$/;

/** The comments the counter item's snapshots hold (the read adds its `commentCount`). */
export const snapshotComments = (item: Item | undefined): number => snapshotSum(item, SNAPSHOT);

/**
 * `ADD commentCount <delta>, version 1` on the comment's shard (created by its first comment), in
 * the comment's transaction (0 checks the tombstone only: a pending comment); a deleted post's shard
 * tombstone fails it.
 */
export function commentShardChange(tableName: string, postId: string, commentId: string, delta: number): TransactItem {
  return {
    Update: {
      TableName: tableName,
      Key: Keys.postCommentShard(postId, commentShardOf(commentId)),
      UpdateExpression: 'SET entity = :entity ADD commentCount :delta, version :one',
      ConditionExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeValues: { ':entity': ENTITY.PostCommentShard, ':delta': delta, ':one': 1 },
    },
  };
}

/** Per post, each comment shard's count at its newest version in these changes: what one fold writes. */
export const commentFoldPlan = (changes: readonly { change: ItemChange; id: string }[]): Map<string, ShardSnapshot[]> =>
  versionedFoldPlan({ counter: 'commentCount', snapshot: commentShardSnapshot, version: commentShardVersion }, changes);

/** Tombstones on every comment counter shard of a deleted post (put by its cascade; they expire at `ttl`). */
export function commentShardTombstones(postId: string, deletedAt: string, ttl: number): Item[] {
  return Array.from({ length: COMMENT_SHARDS }, (_, n) => ({
    ...Keys.postCommentShard(postId, n),
    entity: ENTITY.PostCommentShard,
    deletedAt,
    ttl,
  }));
}
