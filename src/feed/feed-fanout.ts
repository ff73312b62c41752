import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { chunk } from '../dynamo/batch.js';
import { MARKERS_PER_TRANSACTION } from '../dynamo/counted-markers.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import type { PostSummary } from '../posts/post.entity.js';
import { windowStart } from '../posts/feed-days.js';
import { PostsRepository } from '../posts/posts.repository.js';
import { TimelineRepository } from './timeline.repository.js';

/** A post as it stands in feeds: published with a publication time. */
export interface FeedPost {
  id: string;
  authorId: string;
  publishedAt: string;
}

/** Transactions of one follower page in flight at once (the processor's share of the table). */
const WRITES_IN_FLIGHT = 4;
/** Readers written at once: a group of transactions in flight (the fan-in flag is read again between groups). */
export const FANOUT_GROUP_READERS = MARKERS_PER_TRANSACTION * WRITES_IN_FLIGHT;

/**
 * Publications skipped because the post had already left that place, remembered so that their
 * withdrawal writes nothing either. A restart forgets them: the withdrawal then sends its deletes,
 * which find nothing, as before.
 */
const MAX_REMEMBERED_SKIPS = 10_000;

/** How a publication was delivered. */
export type Delivery = { mode: 'fan-out'; timelines: number } | { mode: 'fan-in' } | { mode: 'skipped' };

/**
 * The first table layout whose tables hold no timeline entry without its (reader, author) keys
 * (GSI6, `timelineByAuthor`, written by the fan-out since review 21a, M4): a table created at this
 * layout or later (its migration baseline) never had a worker of an older version.
 */
export const PAIR_KEYS_LAYOUT = 14;
/**
 * For an older table: the date by which no worker of a version before the pair keys writes entries
 * any more (the deploy of this version must be over by then: docs/operations.md). No migration or
 * layout version marks when the keyed writes began (they need none), so it is a constant: edges
 * made before it may have entries without the keys, and are unfollowed by the window Query until
 * no entry of before it can be in the window (30 days after it).
 */
export const TIMELINE_PAIR_KEYS_SINCE = '2026-12-15T00:00:00.000Z';
/**
 * Which Query finds an unfollowed author's entries: `'before-pair-keys'` for an edge made before
 * `TIMELINE_PAIR_KEYS_SINCE` (or of unknown age) while entries of before can still be in the
 * window: the reader's whole window unless the table is new enough (`PAIR_KEYS_LAYOUT`); `'pair'`
 * otherwise. Not by the edge's youth: GSI6 is eventually consistent, but a window read for every
 * edge younger than its lag would give a follow/unfollow loop the whole window's read each time
 * again (review 21a, M4); the entries GSI6 has not caught up with are left (docs/data-model.md).
 */
export function unfollowSource(followedAt: string | undefined, now: Date): 'pair' | 'before-pair-keys' {
  const followed = followedAt === undefined ? Number.NaN : Date.parse(followedAt);
  const since = Date.parse(TIMELINE_PAIR_KEYS_SINCE);
  const beforeKeys = Number.isNaN(followed) || followed < since;
  return beforeKeys && Date.parse(windowStart(now)) <= since ? 'before-pair-keys' : 'pair';
}

const placeOf = (post: FeedPost) => `${post.id}|${post.publishedAt}`;

/** Whether the post, as read now, is still published at the place the record gave it. */
const stillAt = (current: PostSummary | undefined, post: FeedPost) =>
  current?.status === 'published' && current.publishedAt === post.publishedAt && current.authorId === post.authorId;

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
    private readonly posts: PostsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private readonly skipped = new Set<string>();

  /**
   * Fans a publication out, unless the post has left that place since the record was written
   * (review #5): the summary is read again, consistently (one GetItem), so an author who publishes
   * and unpublishes in a loop before the processor catches up costs no timeline write at all.
   */
  async published(post: FeedPost): Promise<Delivery> {
    if (!stillAt(await this.posts.findSummary(post.id), post)) {
      this.skipped.add(placeOf(post));
      if (this.skipped.size > MAX_REMEMBERED_SKIPS) this.skipped.delete(this.skipped.values().next().value!);
      return { mode: 'skipped' };
    }
    if (await this.isFanIn(post.authorId)) return { mode: 'fan-in' };
    let timelines = 0;
    let promoted = false;
    const now = this.clock.now();
    // The author can be promoted to fan-in while this runs: the promotion takes the author's
    // entries out of each follower's timeline, and an entry written to a follower after that would
    // be counted twice (timeline and merged in) until `db:check-counts --fix` (review 13, L-a2).
    // So the flag is read again (consistent GetItem) before each group of writes after the first
    // (just read by isFanIn), and the fan-out stops once it is set. What is left: a promotion step
    // that passes a group between that read and its writes.
    let first = true;
    const stillFannedOut = async () => {
      if (first) {
        first = false;
        return true;
      }
      promoted = (await this.follows.counts(post.authorId, true)).fanIn;
      return !promoted;
    };
    await this.follows.forEachFollowerPage(post.authorId, async (followerIds) => {
      if (!promoted) {
        timelines += await this.inParallel(
          followerIds,
          (ids) => this.timeline.addEntries(ids, post, now),
          stillFannedOut,
        );
      }
    });
    return promoted ? { mode: 'fan-in' } : { mode: 'fan-out', timelines };
  }

  /**
   * Takes a post out of its followers' timelines. For a fan-in author nothing was written since
   * the flag; entries from before it are dropped by the feed's read (the summary says unpublished)
   * and expire with their `ttl`. A publication that was skipped (above) has nothing to take out;
   * entries a crashed earlier pass wrote for it are dropped by the feed's read too (the position
   * no longer matches) and expire.
   */
  async withdrawn(post: FeedPost): Promise<void> {
    // Skipped at publication: nothing was written for this place.
    if (this.skipped.delete(placeOf(post))) return;
    if (await this.isFanIn(post.authorId)) return;
    const now = this.clock.now();
    await this.follows.forEachFollowerPage(post.authorId, async (followerIds) => {
      await this.inParallel(followerIds, (ids) => this.timeline.removeEntries(ids, post, now));
    });
  }

  /**
   * Takes an author's posts out of one reader's timeline, each with its day's `-1`: when the
   * reader unfollowed the author (the feed hides them from then on, so its count must not keep
   * them), or when the author went fan-in (the reader merges their posts in from then on, counted
   * by the author's own day counts, so the entries would count them twice). The entries are found
   * in the reader's own timeline by their `authorId` (`TimelineRepository.removeAuthorEntries`),
   * not from the author's current posts: an entry whose post left that list meanwhile (withdrawn
   * during a promotion, anonymised by an erasure) goes too (review 12, M1). Nothing is written for
   * an erased reader (M5). Idempotent: a gone entry counts nothing.
   */
  authorLeft(readerId: string, authorId: string): Promise<number> {
    return this.timeline.removeAuthorEntries(readerId, authorId, this.clock.now(), 'window');
  }

  /**
   * `authorLeft` for an unfollow: the author's entries found on the (reader, author) index, so
   * its cost is that author's entries in the timeline (0.5 RCU for none), not the reader's whole
   * window, which a follow/unfollow loop made the stream worker read each time (review 21a, M4).
   * An edge made before `TIMELINE_PAIR_KEYS_SINCE` (or without `followedAt`) on a table older than
   * the index keys (its entries may have none) takes the window Query instead (`unfollowSource`;
   * the table's layout is one GetItem, 0.5 RCU, read only for such an edge). Left: an entry fanned
   * out less than GSI6's lag (eventually consistent) before the unfollow is handled stays, hidden
   * on read, until it expires or `db:check-counts --fix`.
   */
  async unfollowed(readerId: string, authorId: string, followedAt?: string): Promise<number> {
    const now = this.clock.now();
    const pair =
      unfollowSource(followedAt, now) === 'pair' || (await this.timeline.tableCreatedAtLayout()) >= PAIR_KEYS_LAYOUT;
    return this.timeline.removeAuthorEntries(readerId, authorId, now, pair ? 'pair' : 'window');
  }

  /** Whether the author is fanned in: flagged, or past the threshold now (then flagged here, once). */
  private async isFanIn(authorId: string): Promise<boolean> {
    const counts = await this.follows.counts(authorId, true);
    if (counts.fanIn) return true;
    if (counts.followerCount <= this.config.feed.fanoutMaxFollowers) return false;
    await this.follows.markFanIn(authorId);
    return true;
  }

  /**
   * Writes for the readers, a group of transactions in flight at a time; when `goOn` is given, it
   * is asked before each group, and a no stops the writes. Returns how many readers were written.
   */
  private async inParallel(
    ids: string[],
    write: (ids: string[]) => Promise<unknown>,
    goOn?: () => Promise<boolean>,
  ): Promise<number> {
    let done = 0;
    for (const group of chunk(ids, FANOUT_GROUP_READERS)) {
      if (goOn && !(await goOn())) break;
      await Promise.all(chunk(group, MARKERS_PER_TRANSACTION).map(write));
      done += group.length;
    }
    return done;
  }
}
