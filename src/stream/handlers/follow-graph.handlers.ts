import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { chunk } from '../../dynamo/batch.js';
import { FeedFanout } from '../../feed/feed-fanout.js';
import { TimelineRepository } from '../../feed/timeline.repository.js';
import { FollowsRepository } from '../../follows/follows.repository.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import { fanInJobOf, FanInPromotionJobsRepository } from '../fan-in-promotion-jobs.repository.js';

/** Single-item transactions of one page in flight at once. */
const IN_FLIGHT = 10;

async function eachInParallel(ids: string[], work: (id: string) => Promise<unknown>): Promise<void> {
  for (const group of chunk(ids, IN_FLIGHT)) await Promise.all(group.map(work));
}

/** What `addFanInAuthor` works with: a handler's repository, logger and metrics. */
interface FanInParts {
  follows: FollowsRepository;
  logger: Logger;
  metrics: AppMetrics;
}

/**
 * Adds the author to the reader's fan-in set (`FollowsRepository.addFanInAuthor`). A set at its cap
 * refuses the author (review 3, #10): said and counted in `feed_fan_in_set_full_total{path}` for an
 * alert once per follow edge, when the edge's `fanInSetFull` mark is written: a record handled
 * again (delivered twice, replayed, a promotion step run again) finds the mark and says nothing.
 */
async function addFanInAuthor(
  { follows, logger, metrics }: FanInParts,
  path: 'promotion' | 'follow',
  followerId: string,
  authorId: string,
): Promise<'added' | 'edgeGone' | 'full'> {
  const outcome = await follows.addFanInAuthor(followerId, authorId);
  if (outcome === 'full' && (await follows.markFanInSetFull(followerId, authorId))) {
    logger.warn(`Fan-in set of ${followerId} is full: ${authorId} not added (their posts miss that reader's feed)`);
    metrics.fanInSetFull().inc({ path });
  }
  return outcome;
}

/**
 * An author just flagged fan-in (past FEED_FANOUT_MAX_FOLLOWERS): every follower gets the author
 * in their fan-in set, once, and the author's entries leave their timeline. The flag's record
 * only starts a job (`FanInPromotionStep` runs it, a page of followers a stream record), so an
 * author with 100,000 followers never holds one record for the whole promotion (review 12, M2).
 * Later follows add the author in their own transaction.
 */
@Injectable()
export class FanInPromotionHandler implements StreamHandler {
  readonly name = 'fan-in-promotion';
  readonly itemType = 'followCounts' as const;

  constructor(private readonly jobs: FanInPromotionJobsRepository) {}

  async handle(change: ItemChange, authorId: string): Promise<void> {
    if (change.newImage?.fanIn !== true || change.oldImage?.fanIn === true) return;
    await this.jobs.start(authorId);
  }
}

/**
 * One step of a fan-in promotion, from its job item's record: the next
 * `STREAM_FAN_IN_FOLLOWERS_PER_STEP` followers (one page of the followers index, keys only), then
 * the job moves past them (or is marked done), and that write's record runs the next step. Per
 * follower: the author added to their fan-in set (a transaction conditioned on the follow edge:
 * an unfollow in between adds nothing), and the author's entries taken out of their timeline
 * (`FeedFanout.authorLeft`: the reader merges the author in from now on, so the entries would be
 * counted twice). A reader whose set is full gets the clean-up too: they do not merge the author
 * in, so no new post of the author reaches them, and old entries left behind would stay counted
 * after their posts are withdrawn (a fan-in author's withdrawal touches no timeline). A crash
 * mid-step runs the step again from the same place: both writes are idempotent.
 */
@Injectable()
export class FanInPromotionStepHandler implements StreamHandler {
  readonly name = 'fan-in-promotion-step';
  readonly itemType = 'fanInPromotionJob' as const;

  private readonly logger = new Logger(FanInPromotionStepHandler.name);
  private get parts(): FanInParts {
    return { follows: this.follows, logger: this.logger, metrics: this.metrics };
  }

  constructor(
    private readonly follows: FollowsRepository,
    private readonly fanout: FeedFanout,
    private readonly jobs: FanInPromotionJobsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: AppMetrics,
  ) {}

  async handle(change: ItemChange, authorId: string): Promise<void> {
    if (change.event === 'REMOVE') return;
    const job = fanInJobOf(authorId, change.newImage);
    // A record whose write did not move the step (the job's ttl refreshed, say) runs nothing again.
    if (!job || change.oldImage?.step === job.step) return;
    const page = await this.follows.followerIdsPage(
      authorId,
      this.config.streamWorker.fanInFollowersPerStep,
      job.after,
    );
    await eachInParallel(page.ids, async (followerId) => {
      const outcome = await addFanInAuthor(this.parts, 'promotion', followerId, authorId);
      if (outcome !== 'edgeGone') await this.fanout.authorLeft(followerId, authorId);
    });
    await (page.after ? this.jobs.advance(job, page.after) : this.jobs.finish(job));
  }
}

/**
 * A new follow edge (review #7), per item and idempotent: read consistently now, a fan-in author
 * (promoted while the follow committed, so the promotion's page of the eventually consistent
 * followers index missed the edge) goes into the follower's fan-in set.
 *
 * An edge whose follower or author item is absent is left alone: absent is not erased. `db:import`
 * writes items in its file's order, so an edge often arrives before its users, and deleting it
 * here lost imported follows whenever a processor ran during an import (review 3, #1). The
 * erasure race (an edge that commits while the erasure pages the index) therefore stays as it was:
 * `db:check-counts` reports and repairs its +1 (docs/streams.md).
 */
@Injectable()
export class FollowEdgeHandler implements StreamHandler {
  readonly name = 'follow-edge';
  readonly itemType = 'follow' as const;

  private readonly logger = new Logger(FollowEdgeHandler.name);
  private get parts(): FanInParts {
    return { follows: this.follows, logger: this.logger, metrics: this.metrics };
  }

  constructor(
    private readonly follows: FollowsRepository,
    private readonly fanout: FeedFanout,
    private readonly metrics: AppMetrics,
  ) {}

  async handle(change: ItemChange): Promise<void> {
    if (change.event === 'REMOVE' && change.oldImage) return this.unfollowed(change.oldImage);
    if (change.event !== 'INSERT' || !change.newImage) return;
    const followerId = change.newImage.followerId as string;
    const authorId = change.newImage.authorId as string;
    // One consistent BatchGetItem of both users and both counter items: a follow of an author who
    // was fan-in already put the author in the set in its own transaction, so this writes nothing.
    const state = await this.follows.edgeState(followerId, authorId);
    if (state.followerExists && state.authorExists && state.authorFanIn && !state.fannedInAlready) {
      await addFanInAuthor(this.parts, 'follow', followerId, authorId);
    }
  }

  /**
   * An edge removed (unfollow, or an erasure's): the author's posts leave the reader's timeline
   * with their day counts (found on the (reader, author) index, or for an edge older than that index's keys in the reader's window: `FeedFanout.unfollowed`), so the feed's `articlesCount` drops with what the feed stops showing.
   * Unless the reader follows the author again by now: their entries stay. Nor when the reader's
   * user item is gone (an erasure's edge): the day count's update would recreate the erased
   * reader's `FEED#DAYS` after their partition was deleted (review 12, M5); their timeline goes
   * with the erasure. Both read in one consistent BatchGetItem.
   */
  private async unfollowed(edge: Record<string, unknown>): Promise<void> {
    const followerId = edge.followerId as string;
    const authorId = edge.authorId as string;
    const state = await this.follows.removedEdgeState(followerId, authorId);
    if (state.following || !state.followerExists) return;
    await this.fanout.unfollowed(followerId, authorId, edge.followedAt as string | undefined);
  }
}

/**
 * An erased account's follows, in both directions: each edge is deleted with the other user's
 * count (and fan-in set) corrected in the same transaction; the erased user's own counter item
 * goes with their partition (`UserCascadeHandler`). Their timeline is deleted too. Idempotent:
 * an edge already gone is skipped.
 */
@Injectable()
export class FollowErasureHandler implements StreamHandler {
  readonly name = 'follow-erasure';
  readonly itemType = 'user' as const;

  constructor(
    private readonly follows: FollowsRepository,
    private readonly timeline: TimelineRepository,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event !== 'REMOVE') return;
    await this.follows.forEachFollowingPage(userId, (authorIds) =>
      eachInParallel(authorIds, (authorId) =>
        this.follows.removeEdgeOfErased(userId, authorId, { userId: authorId, counter: 'followerCount' }),
      ),
    );
    await this.follows.forEachFollowerPage(userId, (followerIds) =>
      eachInParallel(followerIds, (followerId) =>
        this.follows.removeEdgeOfErased(followerId, userId, { userId: followerId, counter: 'followingCount' }),
      ),
    );
    await this.timeline.deleteTimeline(userId);
  }
}
