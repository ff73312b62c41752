import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { epochSeconds } from '../dynamo/expressions.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import type { TransactItem } from '../dynamo/transactions.js';
import type { PostSummary } from './post.entity.js';
import { snapshotComments } from './comment-shards.js';
import { snapshotLikes } from './like-shards.js';
import { snapshotViews } from './view-shards.js';

/**
 * A post's counters that change often. They live on a small item of their own
 * (`PK=POST#<id>`, `SK=COUNTS`) that no index copies, so an `ADD` writes one item of under 1 KB
 * (1 WCU, 2 inside a transaction) instead of the summary and its four feed-index entries.
 *
 * The summary keeps the attributes as a base that no longer changes: 0 for posts created with
 * this layout, the count reached so far for posts created before it. A post's count is the base
 * plus the counter item's value, so a table of the old layout needs no migration for them.
 */
export const POST_COUNTERS = ['viewCount', 'likeCount', 'commentCount'] as const;
export type PostCounter = (typeof POST_COUNTERS)[number];
export type PostCounts = Record<PostCounter, number>;

type Item = Record<string, NativeAttributeValue>;

/** How long the tombstone that a post's deletion leaves on its counter item stops late counts. */
const TOMBSTONE_SECONDS = 3600;

/**
 * `ADD <counter> :delta` on the counter item (it is created by the first one). A deleted post's
 * tombstone fails it, so a like or a comment racing the deletion writes nothing.
 */
export function postCounterChange(
  tableName: string,
  postId: string,
  counter: PostCounter,
  delta: number,
): TransactItem {
  return {
    Update: {
      TableName: tableName,
      Key: Keys.postCounts(postId),
      UpdateExpression: 'SET entity = :entity ADD #counter :delta',
      ConditionExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeNames: { '#counter': counter },
      ExpressionAttributeValues: { ':delta': delta, ':entity': ENTITY.PostCounts },
    },
  };
}

/** Replaces the counter item with a tombstone, in the transaction that deletes the post. */
/** When a tombstone written (or a cascade step recorded on it) at `now` expires. */
export const tombstoneTtl = (now: Date): number => epochSeconds(new Date(now.getTime() + TOMBSTONE_SECONDS * 1000));

export function postCountsTombstone(tableName: string, postId: string, now: Date): TransactItem {
  return {
    Put: {
      TableName: tableName,
      Item: {
        ...Keys.postCounts(postId),
        entity: ENTITY.PostCounts,
        deletedAt: now.toISOString(),
        ttl: tombstoneTtl(now),
      },
    },
  };
}

/**
 * The counter item's values (0 for an absent item or counter). Views, likes and comments: its
 * `viewCount`, `likeCount` and `commentCount` (counted there before the shards, and a quiet post's
 * likes and comments) plus the shards' snapshots the stream folded in (view-shards.ts,
 * like-shards.ts, comment-shards.ts).
 */
export function countsOf(item: Item | undefined): PostCounts {
  const value = (counter: PostCounter) => (typeof item?.[counter] === 'number' ? item[counter] : 0);
  return {
    viewCount: value('viewCount') + snapshotViews(item),
    likeCount: value('likeCount') + snapshotLikes(item),
    commentCount: value('commentCount') + snapshotComments(item),
  };
}

/** The summary with its counts: the stored base plus the counter item. */
export function withCounts<T extends PostSummary>(summary: T, counts: PostCounts): T {
  return {
    ...summary,
    viewCount: (summary.viewCount ?? 0) + counts.viewCount,
    likeCount: (summary.likeCount ?? 0) + counts.likeCount,
    commentCount: (summary.commentCount ?? 0) + counts.commentCount,
  };
}
