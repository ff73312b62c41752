import { Inject, Injectable } from '@nestjs/common';
import { notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { Keys } from '../dynamo/keys.js';
import { mustExist, type TransactOperation } from '../dynamo/transactions.js';
import { isStaff } from '../identity/account.js';
import { commentShardChange } from './comment-shards.js';
import { postCounterChange } from './post-counters.js';
import type { Viewer } from './post-rules.js';

const postGone = () => notFound(ErrorCode.PostNotFound, 'No such post.');

/**
 * The writes the posts module owns in other modules' transactions (a comment's): the guard that
 * the post is still there, and the change of its comment count. Each fails as `404
 * post_not_found`. Other modules add these parts; none writes a post's items itself.
 */
@Injectable()
export class PostWriteParts {
  constructor(@Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string) {}

  /**
   * The post is live for writes under it: its summary still exists. A deleted post's comments and
   * likes are removed later by the stream processor (hours later, at worst): without this check an
   * edit, a moderation or a like in between would write under a deleted post, and approving an
   * orphaned pending comment after the counter tombstone's ttl would recreate a counter item
   * that nothing ever removes.
   */
  liveGuard(postId: string): TransactOperation {
    return mustExist(this.tableName, Keys.post(postId), postGone);
  }

  /**
   * `canSeePost` as a condition on the post's summary, for a write that `viewer` makes at `now` (a
   * comment's like): the post exists and is out (published, `publishedAt` passed), or the viewer is
   * its author; staff see every post, so theirs is `liveGuard`. One check in the write's own
   * transaction: no read of the post beside it.
   */
  visibleGuard(postId: string, viewer: Viewer, now: string): TransactOperation {
    if (isStaff(viewer)) return this.liveGuard(postId);
    return {
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: Keys.post(postId),
          ConditionExpression:
            'attribute_exists(PK) AND ((#status = :published AND (attribute_not_exists(publishedAt) OR publishedAt <= :now)) OR authorId = :viewer)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':published': 'published', ':now': now, ':viewer': viewer.userId },
        },
      },
      onConditionFailed: postGone,
    };
  }

  /**
   * `commentCount` + `delta` on the post's counter item (0 still checks it: the tombstone a
   * deletion leaves stops a comment racing it).
   */
  commentCountChange(postId: string, delta: number): TransactOperation {
    return { item: postCounterChange(this.tableName, postId, 'commentCount', delta), onConditionFailed: postGone };
  }

  /**
   * A new comment's count (`delta` 1, or 0 for a pending one: the deletion check alone): on the
   * post's counter item, or, when `hot` (the post is hot on this instance: src/posts/like-heat.ts),
   * on the comment's counter shard outside the post's partition (src/posts/comment-shards.ts),
   * folded into the count by the stream. Either refuses a comment racing the post's deletion.
   */
  newCommentCount(postId: string, commentId: string, delta: number, hot: boolean): TransactOperation {
    return hot
      ? { item: commentShardChange(this.tableName, postId, commentId, delta), onConditionFailed: postGone }
      : this.commentCountChange(postId, delta);
  }
}
