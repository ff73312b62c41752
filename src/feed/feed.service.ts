import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { Keys } from '../dynamo/keys.js';
import { filledPage, type Page } from '../dynamo/pagination.js';
import { type FollowCounts, MAX_FAN_IN_AUTHORS } from '../follows/follow-items.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import { mayHaveLaterToday, windowStart, windowSum } from '../posts/feed-days.js';
import { isLive, type PostSummary } from '../posts/post.entity.js';
import { PostsRepository } from '../posts/posts.repository.js';
import { type FeedCandidate, TimelineRepository } from './timeline.repository.js';

/** At most this many fanned-in authors are merged into one page (one parallel Query each): a follow past it is refused. */
export { MAX_FAN_IN_AUTHORS } from '../follows/follow-items.js';
/**
 * The largest feed page: its post summaries, counter items and follow edges (3 keys a post at
 * most) fit one BatchGetItem of 100 keys, so a page is always 3 calls plus the fan-in Queries.
 */
export const MAX_FEED_PAGE = 30;

/**
 * The personal feed: posts of the authors the reader follows, newest first. Two sources merged
 * by the same sort position (`<publishedAt>#<postId>`): the reader's timeline, which the stream
 * processor fills when an author publishes (fan-out on write), and, for the few authors with
 * more than FEED_FANOUT_MAX_FOLLOWERS followers, their own published-posts index (fan-in on read).
 *
 * A page is: the reader's counter item (`GetItem`, for the fan-in authors) and the timeline
 * (`Query`) in parallel, one `Query` per fan-in author followed (parallel, at most 100), then one
 * `BatchGetItem` of the page's summaries, counter items and the reader's follow edges for the
 * page's authors. Whatever is no longer true is dropped there: an unpublished, deleted or
 * re-authored post (its summary), an author the reader no longer follows (the edge): unfollow and
 * unpublish take effect at once, before the processor cleans the timeline.
 */
@Injectable()
export class FeedService {
  constructor(
    private readonly timeline: TimelineRepository,
    private readonly follows: FollowsRepository,
    private readonly posts: PostsRepository,
    private readonly cursors: CursorCodec,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * A page of the native feed (`GET /feed`): `limit` posts below the cursor. A page short by places
   * not shown (a post unpublished or deleted, an author unfollowed, before the stream processor
   * cleans the timeline) is filled from its cursor (`filledPage`: at most 2 more reads of the
   * missing places, each the timeline Query, one Query per fan-in author and the page's
   * BatchGetItem; the reader's counter item is read once a request).
   */
  page(readerId: string, limit: number, cursor?: string): Promise<Page<PostSummary>> {
    const now = this.clock.now();
    const counts = this.follows.counts(readerId);
    return filledPage(limit, cursor, (missing, from) => this.places(readerId, counts, missing, from, 0, now));
  }

  /**
   * Conduit's feed page (`/api/articles/feed`): `limit` places after passing `offset` places, those
   * of them shown, never filled: an offset counts places shown or not, so a page that read on
   * past its `limit` places would overlap the next offset's (docs/conduit.md).
   */
  pageAtOffset(readerId: string, limit: number, offset: number): Promise<Page<PostSummary>> {
    return this.places(readerId, this.follows.counts(readerId), limit, undefined, offset, this.clock.now());
  }

  /**
   * `limit` places below the cursor, after passing `offset` places, those of them still shown:
   * the sources are read once, for `offset + limit` places, and the places passed are counted as a
   * page takes them, shown or not, so consecutive offset pages neither repeat nor skip a post.
   * Each fan-in author is one Query per read whatever the offset (review 19a M5: a skip in rounds
   * of 100, then the page in rounds of MAX_FEED_PAGE, queried every fan-in author again each
   * round: 141 calls for `limit=100` with 30 of them, ~1,450 at the bounds). The page's posts are
   * read MAX_FEED_PAGE places a `BatchGetItem`, in parallel.
   */
  private async places(
    readerId: string,
    counts: Promise<FollowCounts>,
    limit: number,
    cursor: string | undefined,
    offset: number,
    now: Date,
  ): Promise<Page<PostSummary>> {
    const { taken, nextCursor } = await this.candidates(readerId, counts, offset + limit, cursor, now);
    const shown = taken.slice(offset).filter((candidate) => !candidate.expired);
    const chunks: FeedCandidate[][] = [];
    for (let start = 0; start < shown.length; start += MAX_FEED_PAGE) {
      chunks.push(shown.slice(start, start + MAX_FEED_PAGE));
    }
    const items = await Promise.all(chunks.map((chunk) => this.stillShown(readerId, chunk, now)));
    return { items: items.flat(), nextCursor };
  }

  /**
   * The posts of at most MAX_FEED_PAGE candidates that are still to be shown, in their order: one
   * `BatchGetItem` of their summaries, counter items and the reader's follow edges for their authors.
   */
  private async stillShown(readerId: string, shown: FeedCandidate[], now: Date): Promise<PostSummary[]> {
    const authors = [...new Set(shown.map((candidate) => candidate.authorId))];
    const { summaries, extra } = await this.posts.findSummariesWith(
      shown.map((candidate) => candidate.postId),
      authors.map((authorId) => Keys.follow(readerId, authorId)),
    );
    const followed = new Set(extra.map((edge) => edge.authorId as string));
    const byId = new Map(summaries.map((summary) => [summary.id, summary]));
    return shown.flatMap((candidate) => {
      const post = byId.get(candidate.postId);
      // The position too: an entry left from an earlier publication (an author promoted to fan-in
      // meanwhile is not withdrawn from timelines) must not show a republished post a second time.
      const stillTrue =
        post &&
        isLive(post, now) &&
        post.authorId === candidate.authorId &&
        candidate.position === `${post.publishedAt}#${post.id}` &&
        followed.has(post.authorId);
      return stillTrue ? [post] : [];
    });
  }

  /**
   * How many posts a walk of the whole feed shows, once the stream processor has run (Conduit's
   * `articlesCount`): from counters, never by reading the feed (src/posts/feed-days.ts). The
   * reader's timeline entries per publication day (`FEED#DAYS`) and the fan-in authors' published
   * posts per day (their `USER#POSTS`), each summed over the window (today and the 30 days
   * before, the days whose entries have not expired), less what is scheduled for later today
   * (counted by its day, not shown yet). Calls: the reader's follow counts and day counts
   * (`GetItem`s) and the timeline's `COUNT` Query of later today, in parallel; with fan-in
   * authors one `BatchGetItem` of theirs, and a `COUNT` Query only for each whose item says some
   * of today's posts may still be ahead (`mayHaveLaterToday`: scheduled at their write, or counted
   * before the hints existed): an author who published today, but not for later, costs nothing
   * more (review 12, L6).
   */
  async count(readerId: string): Promise<number> {
    const now = this.clock.now();
    const [counts, days, laterInTimeline] = await Promise.all([
      this.follows.counts(readerId),
      this.timeline.dayCounts(readerId),
      this.timeline.scheduledLaterToday(readerId, now),
    ]);
    const authors = await this.posts.authorDayCounts(counts.fanInAuthors.slice(0, MAX_FAN_IN_AUTHORS));
    const laterOfAuthors = await Promise.all(
      [...authors]
        .filter(([, item]) => mayHaveLaterToday(item, now))
        .map(([authorId]) => this.posts.authorScheduledLaterToday(authorId, now)),
    );
    const counted = [...authors.values()].reduce((sum, item) => sum + windowSum(item, now), windowSum(days, now));
    return counted - laterInTimeline - laterOfAuthors.reduce((sum, n) => sum + n, 0);
  }

  /**
   * The next `limit` places below the cursor: the reader's counter item (`GetItem`, for the
   * fan-in authors) and the timeline (`Query`) in parallel, then one `Query` per fan-in author,
   * merged by position.
   */
  private async candidates(
    readerId: string,
    readerCounts: Promise<FollowCounts>,
    limit: number,
    cursor: string | undefined,
    now: Date,
  ): Promise<{ taken: FeedCandidate[]; nextCursor: string | null }> {
    const scope = `feed|${readerId}`;
    const decoded = this.cursors.decode(cursor, scope);
    // Positions are `<publishedAt>#<id>`: `<now>#~` is above every post whose time has come.
    const before = typeof decoded?.before === 'string' ? decoded.before : `${now.toISOString()}#~`;
    const [counts, own] = await Promise.all([readerCounts, this.timeline.page(readerId, before, limit, now)]);
    // A fan-in author's posts are in the feed for as long as a timeline entry would be: from the
    // window's first day on (src/posts/feed-days.ts), so the feed and its count agree. Positions
    // come newest first: once one is older, the rest are too, and that source has no more.
    const from = windowStart(now);
    const fanIn = (
      await Promise.all(
        counts.fanInAuthors
          .slice(0, MAX_FAN_IN_AUTHORS)
          .map((authorId) => this.posts.publishedPositions(authorId, before, limit)),
      )
    ).map((source) => {
      const recent = source.candidates.filter((candidate) => candidate.position >= from);
      return { candidates: recent, more: source.more && recent.length === source.candidates.length };
    });

    // One place per position (`<publishedAt>#<postId>`), not per post: a post in both sources at
    // its current position is one place, but a timeline entry left at an older position of a
    // republished post is a place of its own (not shown: \`page\` checks the position). Merging
    // by post id made the number of places depend on whether both entries fell into the same
    // read, so a skip of 100 and pages of 1 disagreed and an offset page could leave a gap.
    const merged = new Map<string, FeedCandidate>();
    for (const candidate of [own, ...fanIn].flatMap((source) => source.candidates)) {
      merged.set(candidate.position, candidate);
    }
    const ordered = [...merged.values()].sort((a, b) => (a.position < b.position ? 1 : -1));
    const taken = ordered.slice(0, limit);
    const more = ordered.length > limit || own.more || fanIn.some((source) => source.more);
    const last = taken.at(-1)?.position ?? own.lastPosition;
    return { taken, nextCursor: more && last ? this.cursors.encode({ before: last }, scope) : null };
  }
}
