import { Injectable } from '@nestjs/common';
import { PostsRepository } from '../../posts/posts.repository.js';
import { commentFoldPlan } from '../../posts/comment-shards.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import type { StreamHandler } from '../stream-handler.js';

/**
 * Folds the comment counter shards' new counts into their posts' counter items
 * (src/posts/comment-shards.ts), as the like shards' are (like-shard-fold.handler.ts): once per post
 * per batch, each shard at its newest version, written only over an older one.
 */
@Injectable()
export class CommentShardFoldHandler implements StreamHandler {
  readonly name = 'comment-shard-fold';
  readonly itemType = 'postCommentShard' as const;

  constructor(private readonly posts: PostsRepository) {}

  handle(change: ItemChange, postId: string): Promise<void> {
    return this.handleBatch([{ change, id: postId }]);
  }

  async handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    for (const [postId, snapshots] of commentFoldPlan(changes)) await this.posts.foldCounterShards(postId, snapshots);
  }
}
