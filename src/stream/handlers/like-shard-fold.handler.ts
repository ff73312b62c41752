import { Injectable } from '@nestjs/common';
import { PostsRepository } from '../../posts/posts.repository.js';
import { likeFoldPlan } from '../../posts/like-shards.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import type { StreamHandler } from '../stream-handler.js';

/**
 * Folds the like counter shards' new counts into their posts' counter items (src/posts/like-shards.ts):
 * a batch's records are coalesced, so each post's counter item is written once per batch with each
 * shard's count at its newest version. A snapshot is written only over an older version, so a
 * record or a batch delivered again, or an older batch after a newer one, changes nothing.
 */
@Injectable()
export class LikeShardFoldHandler implements StreamHandler {
  readonly name = 'like-shard-fold';
  readonly itemType = 'postLikeShard' as const;

  constructor(private readonly posts: PostsRepository) {}

  handle(change: ItemChange, postId: string): Promise<void> {
    return this.handleBatch([{ change, id: postId }]);
  }

  async handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    for (const [postId, snapshots] of likeFoldPlan(changes)) await this.posts.foldCounterShards(postId, snapshots);
  }
}
