import { Injectable } from '@nestjs/common';
import { PostsRepository } from '../../posts/posts.repository.js';
import { foldPlan } from '../../posts/view-shards.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import type { StreamHandler } from '../stream-handler.js';

/**
 * Folds the view counter shards' new counts into their posts' counter items (src/posts/view-shards.ts):
 * a batch's records are coalesced, so each post's counter item is written once per batch with
 * each shard's highest count in it, however many views the batch holds. Absolute, only-upward
 * snapshots: a record or a batch delivered again changes nothing.
 */
@Injectable()
export class ViewShardFoldHandler implements StreamHandler {
  readonly name = 'view-shard-fold';
  readonly itemType = 'postViewShard' as const;

  constructor(private readonly posts: PostsRepository) {}

  handle(change: ItemChange, postId: string): Promise<void> {
    return this.handleBatch([{ change, id: postId }]);
  }

  async handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    for (const [postId, snapshots] of foldPlan(changes)) await this.posts.foldViewShards(postId, snapshots);
  }
}
