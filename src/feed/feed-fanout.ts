import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { chunk, MAX_BATCH_WRITE } from '../dynamo/batch.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import { TimelineRepository } from './timeline.repository.js';

/** A post as it stands in feeds: published with a publication time. */
export interface FeedPost {
  id: string;
  authorId: string;
  publishedAt: string;
}

/** Batch writes of one follower page in flight at once (the processor's share of the table). */
const WRITES_IN_FLIGHT = 4;

/** How a publication was delivered. */
export type Delivery = { mode: 'fan-out'; timelines: number } | { mode: 'fan-in' };

/**
 * Fan-out on write, run by the stream processor (never by the publishing request): a post that
 * enters the feeds is put into every follower's timeline, one that leaves them is taken out.
 * Authors past FEED_FANOUT_MAX_FOLLOWERS are not fanned out at all: readers merge them in
 * (`FeedService`), so a publish costs the processor one read for them.
 */
@Injectable()
export class FeedFanout {
  constructor(
    private readonly follows: FollowsRepository,
    private readonly timeline: TimelineRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async published(post: FeedPost): Promise<Delivery> {
    if (await this.isFanIn(post.authorId)) return { mode: 'fan-in' };
    let timelines = 0;
    await this.follows.forEachFollowerPage(post.authorId, async (followerIds) => {
      await this.inParallel(followerIds, (ids) => this.timeline.addEntries(ids, post));
      timelines += followerIds.length;
    });
    return { mode: 'fan-out', timelines };
  }

  /**
   * Takes a post out of its followers' timelines. For a fan-in author nothing was written since
   * the flag; entries from before it are dropped by the feed's read (the summary says unpublished)
   * and expire with their `ttl`.
   */
  async withdrawn(post: FeedPost): Promise<void> {
    if (await this.isFanIn(post.authorId)) return;
    await this.follows.forEachFollowerPage(post.authorId, (followerIds) =>
      this.inParallel(followerIds, (ids) => this.timeline.removeEntries(ids, post)),
    );
  }

  /** Whether the author is fanned in: flagged, or past the threshold now (then flagged here, once). */
  private async isFanIn(authorId: string): Promise<boolean> {
    const counts = await this.follows.counts(authorId, true);
    if (counts.fanIn) return true;
    if (counts.followerCount <= this.config.feed.fanoutMaxFollowers) return false;
    await this.follows.markFanIn(authorId);
    return true;
  }

  private async inParallel(ids: string[], write: (ids: string[]) => Promise<void>): Promise<void> {
    for (const group of chunk(ids, MAX_BATCH_WRITE * WRITES_IN_FLIGHT)) {
      await Promise.all(chunk(group, MAX_BATCH_WRITE).map(write));
    }
  }
}
