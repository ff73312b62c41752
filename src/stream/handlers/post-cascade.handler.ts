import { Injectable, Logger } from '@nestjs/common';
import { PostsRepository } from '../../posts/posts.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * A deleted post's remains: the request's transaction removed the summary, content, slug, feed
 * links and counts, and left a tombstone on the counter item that refuses late likes and
 * comments. This removes what is left in the post's partition (comments, comment pointers and
 * likes, likes of comments) with the batch helper. Idempotent: it deletes whatever is still
 * there, so a second delivery, or one after a crash midway, finishes the job.
 */
@Injectable()
export class PostCascadeHandler implements StreamHandler {
  readonly name = 'post-cascade';
  readonly itemType = 'post' as const;
  private readonly logger = new Logger(PostCascadeHandler.name);

  constructor(private readonly posts: PostsRepository) {}

  async handle(change: ItemChange, postId: string): Promise<void> {
    if (change.event !== 'REMOVE') return;
    const removed = await this.posts.deletePartitionRemains(postId);
    this.logger.debug(`post ${postId}: removed ${removed} remaining items`);
  }
}
