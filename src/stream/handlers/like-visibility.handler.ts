import { Inject, Injectable, Logger } from '@nestjs/common';
import { ID_GENERATOR, type IdGenerator } from '../../common/ids.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { type LikePlace, PostsRepository } from '../../posts/posts.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { Item, ItemChange } from '../../dynamo/stream-record.js';

/** What decides where a post's likes sit: its time in the feeds, or not in them. */
const visibility = (image: Item | undefined): string =>
  image?.status === 'published' && typeof image.publishedAt === 'string' ? `at ${image.publishedAt}` : 'hidden';

/**
 * Moves a post's likes to the places its current state gives them (src/posts/like-visibility.ts)
 * when it leaves or enters the feeds or is re-timed, so the favorites lists, their offsets and
 * the likers' `likedCount` hold the likes of posts out (Conduit's `?favorited=` articlesCount).
 * Bounded like the deleted post's cascade: a run moves at most STREAM_CASCADE_LIKES_PER_RUN
 * likes, and while more remain it records where it stopped on the post's counter item, whose own
 * stream record starts the next run (`LikeVisibilityStepHandler`). Each run reads the post's
 * current state, and each move is conditioned on the like's old place and on that state, so
 * replays, reorderings and concurrent runs converge on the post's last state and count each
 * move once.
 */
@Injectable()
export class LikeVisibilitySync {
  private readonly logger = new Logger(LikeVisibilitySync.name);

  constructor(
    private readonly posts: PostsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** One run of the sync `syncId` (one per change of the post's visibility). */
  async run(postId: string, after: string | undefined, step: number, syncId: string): Promise<void> {
    const run = await this.posts.syncLikePlaces(postId, after, this.config.streamWorker.cascadeLikesPerRun);
    this.logger.debug(`post ${postId}: like places run ${step} moved ${run.moved}${run.next ? ', more to go' : ''}`);
    if (run.next) await this.posts.continueLikeSync(postId, step + 1, run.next, syncId);
  }
}

/** The first run, from the post summary's change of visibility. */
@Injectable()
export class LikeVisibilityHandler implements StreamHandler {
  readonly name = 'like-visibility';
  readonly itemType = 'post' as const;

  constructor(
    private readonly sync: LikeVisibilitySync,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async handle(change: ItemChange, postId: string): Promise<void> {
    // A new post has no likes; a deleted one's go with its cascade.
    if (change.event !== 'MODIFY') return;
    if (visibility(change.oldImage) === visibility(change.newImage)) return;
    await this.sync.run(postId, undefined, 1, this.ids.next()); // a new id per sync
  }
}

/** The next runs, from the counter item's record of where the last one stopped. */
@Injectable()
export class LikeVisibilityStepHandler implements StreamHandler {
  readonly name = 'like-visibility-step';
  readonly itemType = 'postCounts' as const;

  constructor(private readonly sync: LikeVisibilitySync) {}

  async handle(change: ItemChange, postId: string): Promise<void> {
    if (change.event !== 'MODIFY') return;
    const step: unknown = change.newImage?.likeSyncStep;
    const after: unknown = change.newImage?.likeSyncAfter;
    const syncId: unknown = change.newImage?.likeSyncId;
    if (typeof step !== 'number' || typeof after !== 'string' || typeof syncId !== 'string') return;
    const old = change.oldImage;
    if (step === old?.likeSyncStep && after === old?.likeSyncAfter && syncId === old?.likeSyncId) return;
    await this.sync.run(postId, after, step, syncId);
  }
}

/**
 * A new like, checked against its post once: a like made while its post was being withdrawn
 * (the request read it live, the withdrawal committed, its sync ran, then the like was written)
 * would otherwise stay counted and listed for a post that is not out. One consistent GetItem of
 * the summary per post per batch (a viral post's likes come in batches: one read of its partition
 * per batch, not one per like), in the processor; a move only in that race.
 */
@Injectable()
export class LikePlaceHandler implements StreamHandler {
  readonly name = 'like-place';
  readonly itemType = 'like' as const;

  constructor(private readonly posts: PostsRepository) {}

  handle(change: ItemChange, postId: string): Promise<void> {
    return this.handleBatch([{ change, id: postId }]);
  }

  async handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    const byPost = new Map<string, LikePlace[]>();
    for (const { change, id } of changes) {
      if (change.event !== 'INSERT' || !change.newImage) continue;
      const like = change.newImage;
      if (typeof like.userId !== 'string' || typeof like.likedAt !== 'string') continue;
      const likes = byPost.get(id) ?? [];
      likes.push({
        userId: like.userId,
        likedAt: like.likedAt,
        ...(typeof like.GSI2SK === 'string' ? { GSI2SK: like.GSI2SK } : {}),
      });
      byPost.set(id, likes);
    }
    for (const [postId, likes] of byPost) {
      const summary = await this.posts.findSummaryConsistent(postId);
      if (!summary) continue; // deleted: its cascade removes the likes
      // One at a time, as the sync moves them (each move checks the post item).
      for (const like of likes) await this.posts.moveLike(summary, like);
    }
  }
}
