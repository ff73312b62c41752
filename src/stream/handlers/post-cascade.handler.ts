import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { PostsRepository } from '../../posts/posts.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * A deleted post's remains: the request's transaction removed the summary, content, slug, feed
 * links and counts, and left a tombstone on the counter item that refuses late likes and
 * comments. The cascade removes what is left in the post's partition and its like shards, in
 * bounded runs: each run removes at most STREAM_CASCADE_LIKES_PER_RUN likes (a transaction each, with the liker's
 * `likedCount`), and while likes remain it records its step on the tombstone, whose own stream
 * record starts the next run (`PostCascadeStepHandler`), as the rename fan-out does with its job
 * item. Once no like is left, the run deletes the comments and the rest. The first run first puts a
 * tombstone on each of the post's view counter shards and like counter shards (src/posts/view-shards.ts,
 * like-shards.ts): a like racing the deletion either fails on its shard's tombstone or was written
 * before it and is found by the run's Query. Idempotent: a run
 * deletes whatever is still there, so a second delivery, or one after a crash midway, finishes
 * the job, and a step recorded twice moves nothing.
 */
@Injectable()
export class PostCascade {
  private readonly logger = new Logger(PostCascade.name);

  constructor(
    private readonly posts: PostsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async run(postId: string, step: number): Promise<void> {
    // The view and like shards live outside the post's partition: tombstoned at once, so late views
    // and likes fail on them; then the likes written before are found and removed.
    if (step === 1) await this.posts.tombstoneCounterShards(postId, this.config.viewCounterShards, this.clock.now());
    const { removed, more } = await this.posts.deletePartitionRemains(
      postId,
      this.config.streamWorker.cascadeLikesPerRun,
    );
    this.logger.debug(`post ${postId}: run ${step} removed ${removed} items${more ? ', more to go' : ''}`);
    if (more) await this.posts.continueCascade(postId, step + 1, this.clock.now());
  }
}

/** The first run, from the post's own removal. */
@Injectable()
export class PostCascadeHandler implements StreamHandler {
  readonly name = 'post-cascade';
  readonly itemType = 'post' as const;

  constructor(private readonly cascade: PostCascade) {}

  async handle(change: ItemChange, postId: string): Promise<void> {
    if (change.event !== 'REMOVE') return;
    await this.cascade.run(postId, 1);
  }
}

/** The next runs, from the tombstone's record of a new step (see `PostCascade`). */
@Injectable()
export class PostCascadeStepHandler implements StreamHandler {
  readonly name = 'post-cascade-step';
  readonly itemType = 'postCounts' as const;

  constructor(private readonly cascade: PostCascade) {}

  async handle(change: ItemChange, postId: string): Promise<void> {
    // MODIFY: a step on the tombstone; INSERT: a carrier put again after the tombstone expired.
    if (change.event !== 'MODIFY' && change.event !== 'INSERT') return;
    const step: unknown = change.newImage?.cascadeStep;
    const before: unknown = change.oldImage?.cascadeStep;
    if (typeof step !== 'number' || step === before || change.newImage?.deletedAt === undefined) return;
    await this.cascade.run(postId, step);
  }
}
