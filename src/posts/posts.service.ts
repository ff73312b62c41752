import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AuthUser } from '../identity/auth-user.js';
import { DELETED_USER_ID, isStaff } from '../identity/account.js';
import { badRequest, DomainError, exportTooLarge, unprocessable } from '../common/errors/domain-error.js';
import type { TransactionPart } from '../dynamo/transactions.js';
import { clientSubject } from '../common/network/client-subject.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { assertVersion } from '../common/errors/version-mismatch.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { SlugService } from '../slugs/slug.service.js';
import { RateLimiter } from '../dynamo/rate-limiter.js';
import type { Page } from '../dynamo/pagination.js';
import type { ExportContentBudget } from '../common/export/content-budget.js';
import { PostTaxonomyReads } from '../taxonomy/post-taxonomy-reads.js';
import type { CreatePostDto, UpdatePostDto } from './dto/post.dto.js';
import {
  effectiveStatus,
  isLive,
  type Post,
  type PostList,
  type PostStatus,
  type PostSummary,
  type SkippedEntries,
} from './post.entity.js';
import { type PostRead, PostsRepository } from './posts.repository.js';
import { PostWriteHeat } from './like-heat.js';
import { RecentViewReads } from './recent-view-reads.js';
import { RecentViewers } from './recent-viewers.js';
import { ViewBudgets } from './view-budgets.js';
import { allPagesUpTo, drainListing, filledPage } from '../dynamo/pagination.js';
import { PostMapper } from './post.mapper.js';
import { assertMayManagePost, canSeePost, editChangesNothing, postNotFound, postTransition } from './post-rules.js';
import type { PostDto } from './dto/post.dto.js';
import { NO_AUTHOR_DISPLAY } from '../identity/author-display.js';
import { derivedKey } from '../common/derived-key.js';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

/** A publication taken from the author's window ahead of its write (`PostsService.takePublication`). */
export interface PublicationTaken {
  /** Returns it to the window: the work it was taken for failed, having written nothing. */
  giveBack(): Promise<void>;
}

/** The first 280 characters of the content as plain text, for posts without an excerpt. */
export function deriveExcerpt(content: string): string {
  const text = content
    .replace(/<[^>]*>/g, ' ')
    .replace(/[#*_`>[\]()!]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...text];
  return chars.length <= 280 ? text : `${chars.slice(0, 279).join('').trimEnd()}…`;
}

/** The HKDF label of the key that hashes anonymous viewers. */
const VIEWER_KEY_LABEL = 'publishing-api/anonymous-viewer/hmac-sha256/v1';

/** A viewer's views of one post count once per this period. */
const VIEW_DEDUP_SECONDS = 3600;

/**
 * Runs a read-then-save once more when the save lost a race (`412 version_mismatch`). Most often
 * the stream processor copied an author's rename onto the post between the read and the save (a
 * save requires the display copy it read), which is no reason to fail a client that sent no
 * `If-Match`, nor a server loop. The work reads afresh, so `If-Match` is checked again: a client
 * that sent one still gets 412 when the post itself changed.
 */
async function onceMoreOnRace<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) return work();
    throw error;
  }
}

/** Where a post stands in the feeds: published (or scheduled) at `publishedAt`, or not in them. */
type FeedPlace = { status: PostStatus; publishedAt?: string };

@Injectable()
export class PostsService {
  constructor(
    private readonly posts: PostsRepository,
    private readonly taxonomy: PostTaxonomyReads,
    private readonly slugs: SlugService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
    /** Posts liked (or commented on) often on this instance: their likes go to the shards (like-heat.ts). */
    private readonly heat: PostWriteHeat,
  ) {
    this.viewReads = new RecentViewReads(config.viewReadCacheSeconds);
    this.viewBudgets = new ViewBudgets(config.viewRatePerClient);
    this.viewerHashKey = derivedKey(config.auth.jwtSecret, VIEWER_KEY_LABEL);
  }

  private readonly viewerHashKey: KeyObject;
  private readonly viewReads: RecentViewReads;
  /** Viewers counted (or refused as counted) here within the window: their repeats write nothing. */
  private readonly viewers = new RecentViewers();
  /** Views each client may still have counted here in this window (VIEW_RATE_MAX_PER_CLIENT). */
  private readonly viewBudgets: ViewBudgets;

  /** Whether the user authored any post, in any status (one small index Query). */
  async hasAuthored(userId: string): Promise<boolean> {
    return (await this.posts.ownPosts(userId, undefined, 1)).items.length > 0;
  }

  /**
   * Moves every published post of a category to another (links and counts follow each post, in
   * each post's own save), counting on `progress.moved` as each save commits: a caller that fails
   * part-way (a later post's save, or its own next step) knows how many moved.
   */
  async moveCategoryPosts(
    fromCategoryId: string,
    toCategoryId: string,
    progress: { moved: number } = { moved: 0 },
  ): Promise<void> {
    for (const postId of await this.posts.categoryPostIds(fromCategoryId)) {
      await onceMoreOnRace(async () => {
        const post = await this.posts.findSummaryWithCounts(postId);
        if (!post || post.categoryId !== fromCategoryId) return;
        await this.posts.save(
          post,
          { ...post, categoryId: toCategoryId, updatedAt: this.clock.now().toISOString() },
          undefined,
        );
        progress.moved += 1;
      });
    }
  }

  /**
   * The user's posts in every status, with their content (their personal-data export): at most
   * `max` posts, and contents read 100 at a time, each spent from the export's content budget as
   * it is read (a post may hold 200 KB, so a count alone bounds neither memory nor the answer).
   */
  async postsForExport(userId: string, now: Date, max: number, budget: ExportContentBudget): Promise<PostDto[]> {
    const posts = await allPagesUpTo(
      (cursor) => this.posts.ownPosts(userId, undefined, 100, cursor),
      max,
      () => exportTooLarge('posts', max),
    );
    const contents = new Map<string, string>();
    for (let start = 0; start < posts.length; start += 100) {
      const chunk = await this.posts.findContents(posts.slice(start, start + 100).map((post) => post.id));
      for (const [postId, content] of chunk) {
        budget.spend(content);
        contents.set(postId, content);
      }
    }
    return posts.map((post) => PostMapper.full({ ...post, content: contents.get(post.id) ?? '' }, undefined, now));
  }

  /** The posts the user likes (their personal-data export). */
  likesForExport(userId: string, max: number): Promise<{ postId: string; likedAt: string }[]> {
    return allPagesUpTo(
      (cursor) => this.posts.likeRecords(userId, 100, cursor),
      max,
      () => exportTooLarge('likes', max),
    );
  }

  /**
   * A hard-deleted user's posts stay, credited to `deleted-user`; their likes are removed,
   * with the counts (docs/data-model.md). A post still scheduled goes back to draft in the same
   * save, as a suspended account's do (review 21a M3): the erasure's suspension reaches the stream
   * processor after this has moved the posts off the account, and nobody could take a
   * `deleted-user` post down but an admin.
   */
  async anonymiseAuthor(userId: string): Promise<void> {
    await drainListing(
      (cursor) => this.posts.likedPostIds(userId, 100, cursor),
      (postId) => this.posts.removeLike(postId, userId),
    );
    await drainListing(
      (cursor) => this.posts.ownPosts(userId, undefined, 100, cursor),
      (listed) =>
        onceMoreOnRace(async () => {
          // The index may lag the table: read the post itself, and skip what is done already.
          const post = await this.posts.findSummaryWithCounts(listed.id);
          if (!post || post.authorId !== userId) return;
          const now = this.clock.now();
          const withdrawn =
            effectiveStatus(post, now) === 'scheduled' ? postTransition(post, { to: 'draft' }, now) : {};
          await this.posts.save(
            post,
            { ...post, ...withdrawn, authorId: DELETED_USER_ID, ...NO_AUTHOR_DISPLAY, updatedAt: now.toISOString() },
            undefined,
          );
        }),
    );
  }

  /**
   * Takes a suspended or deactivated author's scheduled posts back to draft (review 21a M3): the
   * posts of theirs that were scheduled at `since` (the status change's time), found by a Query of
   * their published list after it (GSI2 `AUTHOR#<id>#PUBLISHED`, sorted by `publishedAt`), each
   * saved as the author's own unpublish would (one versioned save: index keys, tag and category
   * links and counts, the author's counts; the personal feeds follow from the post's stream
   * record). A post changed since `since` (rescheduled after a reactivation, or by an admin), a
   * draft, an archived post or someone else's is left alone: the outcome does not depend on when
   * this runs, and a second run changes nothing. Returns how many it withdrew.
   */
  async withdrawScheduled(authorId: string, since: string): Promise<number> {
    let withdrawn = 0;
    for (const postId of await this.posts.authorPostIdsAfter(authorId, since)) {
      await onceMoreOnRace(async () => {
        // The index may lag the table: read the post itself, and skip what is done already.
        const post = await this.posts.findSummaryWithCounts(postId);
        if (!post || !scheduledAt(post, authorId, since)) return;
        const now = this.clock.now();
        await this.posts.save(
          post,
          { ...post, ...postTransition(post, { to: 'draft' }, now), updatedAt: now.toISOString() },
          undefined,
        );
        withdrawn += 1;
      });
    }
    return withdrawn;
  }

  /**
   * Creates a draft: post, content, slug and tag checks in one transaction. With an
   * Idempotency-Key, a retry of the same request returns the first post; the same key with
   * another body is 422.
   */
  async create(
    author: AuthUser,
    dto: CreatePostDto,
    idempotencyKey?: string,
    options: { publishNow?: boolean; publicationTaken?: PublicationTaken } = {},
  ): Promise<{ post: Post; replayed: boolean }> {
    const requestHash = createHash('sha256').update(JSON.stringify(dto)).digest('hex');
    if (idempotencyKey !== undefined) {
      if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw badRequest(ErrorCode.BadRequest, 'Idempotency-Key must be 1-100 characters of A-Z, a-z, 0-9, _ . : -');
      }
      const replay = await this.replay(author.userId, idempotencyKey, requestHash);
      if (replay) return { post: replay, replayed: true };
    }
    await this.assertTaxonomyExists(dto.tagIds ?? [], dto.categoryId);
    // Counted here, in the creating transaction, unless the caller took it already (takePublication).
    const limit =
      options.publishNow && !options.publicationTaken
        ? this.publicationLimit(author.userId, { status: 'draft' }, { status: 'published' })
        : [];

    const now = this.clock.now().toISOString();
    const id = this.ids.next();
    let created: Post | undefined;
    try {
      await this.slugs.withSlug('post', dto.slug, dto.title, async (slug) => {
        created = {
          id,
          authorId: author.userId,
          title: dto.title,
          slug,
          excerpt: dto.excerpt ?? deriveExcerpt(dto.content),
          content: dto.content,
          featuredImageUrl: dto.featuredImageUrl,
          categoryId: dto.categoryId,
          tagIds: dto.tagIds ?? [],
          // Published in the creating transaction (links, counts and feeds with it) when asked:
          // the Conduit API publishes on creation (docs/conduit.md).
          ...(options.publishNow ? { status: 'published' as const, publishedAt: now } : { status: 'draft' as const }),
          viewCount: 0,
          likeCount: 0,
          commentCount: 0,
          createdAt: now,
          updatedAt: now,
          version: 1,
          ...author.display,
        };
        await this.posts.create(
          created,
          this.slugs.claim('post', slug, id),
          limit,
          idempotencyKey === undefined
            ? []
            : this.posts.idempotencyOperation(
                author.userId,
                idempotencyKey,
                requestHash,
                id,
                () => new IdempotencyRace(),
              ),
        );
      });
    } catch (error) {
      if (error instanceof IdempotencyRace && idempotencyKey !== undefined) {
        const replay = await this.replay(author.userId, idempotencyKey, requestHash);
        if (replay) return { post: replay, replayed: true };
      }
      throw error;
    }
    return { post: created!, replayed: false };
  }

  /**
   * Takes one publication from the author's window now (one conditional UpdateItem; 429
   * `too_many_publishes` counting nothing when it is full), for work that a refused publication
   * must not leave behind and that comes before the post's own write: Conduit's new tags (review
   * 19a M3). The creation then gets `{ publishNow, publicationTaken }` and counts nothing more. A
   * read of the window, as before, let concurrent requests at the limit all pass it and make their
   * tags, the transaction then refusing all but one (session 20). `giveBack()` returns the
   * publication when the work fails or the creation surely wrote nothing (an unknown outcome, a
   * timeout after sending, keeps it: review 20c L3, ConduitService).
   */
  async takePublication(author: AuthUser): Promise<PublicationTaken> {
    const check = { rule: this.config.rateLimits.publishPerAuthor, subject: author.userId };
    const at = this.clock.now();
    await this.limiter.take(check, 1, ErrorCode.TooManyPublishes, at);
    return { giveBack: () => this.limiter.giveBack(check, 1, at) };
  }

  /**
   * Counts tags the viewer is about to create through Conduit's `tagList` against
   * TAG_CREATE_RATE_MAX_PER_ACCOUNT, per tag (review 19c, M2: the content budget alone let one
   * account make ~1,200 global tags a minute through `PUT`). A request with more new names than the
   * window has left is refused whole (429 too_many_new_tags) and counts nothing. Staff are exempt.
   */
  countNewTags(viewer: AuthUser, newTags: number): Promise<void> {
    if (isStaff(viewer)) return Promise.resolve();
    return this.limiter.take(
      { rule: this.config.rateLimits.tagCreatePerAccount, subject: viewer.userId },
      newTags,
      ErrorCode.TooManyNewTags,
    );
  }

  /** Refuses (403) what `update` would refuse the viewer, before any write (as `takePublication` for 429). */
  assertMayUpdate(post: Post, viewer: AuthUser): void {
    assertMayManagePost(post, viewer, this.clock.now(), false);
  }

  /** A post as the viewer may see it: drafts, scheduled and archived posts only for their author and staff. */
  async get(postId: string, viewer?: AuthUser): Promise<PostRead> {
    const read = await this.posts.findById(postId, viewer?.userId);
    if (!read || !this.canSee(read.post, viewer)) throw postNotFound();
    return read;
  }

  async getBySlug(slug: string, viewer?: AuthUser): Promise<PostRead> {
    const postId = await this.slugs.ownerOf('post', slug);
    if (!postId) throw postNotFound();
    return this.get(postId, viewer);
  }

  /**
   * Author or admin; a stale If-Match is 412. Slug, tags and category changes move links and counts with it.
   * Answers the post as read after the write, with whether the caller likes it (as `get` does). An
   * edit that changes nothing (`{}`, or every field as it is) writes nothing and answers the post.
   */
  update(postId: string, viewer: AuthUser, dto: UpdatePostDto, ifMatch?: number): Promise<PostRead> {
    return onceMoreOnRace(() => this.updateOnce(postId, viewer, dto, ifMatch));
  }

  private async updateOnce(postId: string, viewer: AuthUser, dto: UpdatePostDto, ifMatch?: number): Promise<PostRead> {
    const { post } = await this.manageable(postId, viewer, false);
    assertVersion(ifMatch, post.version);
    const tagIds = dto.tagIds ?? post.tagIds;
    const categoryId = dto.categoryId === null ? undefined : (dto.categoryId ?? post.categoryId);
    await this.assertTaxonomyExists(
      tagIds.filter((id) => !post.tagIds.includes(id)),
      categoryId !== post.categoryId ? categoryId : undefined,
    );
    const content = dto.content ?? post.content;
    const { content: _old, ...before } = post;
    const after: PostSummary = {
      ...before,
      title: dto.title ?? post.title,
      slug: dto.slug ?? post.slug,
      excerpt:
        dto.excerpt ??
        (dto.content !== undefined && post.excerpt === deriveExcerpt(post.content)
          ? deriveExcerpt(content)
          : post.excerpt),
      featuredImageUrl: dto.featuredImageUrl ?? post.featuredImageUrl,
      categoryId,
      tagIds,
      updatedAt: this.clock.now().toISOString(),
    };
    // An edit that changes nothing a reader sees (`{}`, or the same values) writes nothing: the
    // version stays (the ETag too) and no post.updated goes out. The If-Match was checked above.
    if (editChangesNothing(post, after, content)) return this.readBack(postId, viewer);
    await this.posts.save(
      before,
      after,
      dto.content !== undefined ? content : undefined,
      this.slugs.swap('post', before.slug, after.slug, post.id),
    );
    return this.readBack(postId, viewer);
  }

  /**
   * Publishes now, or schedules for `publishAt`. A draft or archived post can be published; a
   * scheduled one can be rescheduled; a live one cannot be published again (409).
   */
  publish(postId: string, viewer: AuthUser, publishAt?: string): Promise<PostRead> {
    return onceMoreOnRace(() => this.publishOnce(postId, viewer, publishAt));
  }

  private async publishOnce(postId: string, viewer: AuthUser, publishAt?: string): Promise<PostRead> {
    const { post } = await this.manageable(postId, viewer, false);
    return this.transition(post, postTransition(post, { to: 'published', publishAt }, this.clock.now()), viewer);
  }

  /**
   * Counts a publication against the post's author (`PUBLISH_RATE_*`, 429 `too_many_publishes`):
   * each one costs the stream processor a timeline write per follower, so toggling a post in a
   * loop must not turn one account into tens of thousands of writes a second. A transaction part
   * of the write that publishes (review 3, #2): a publication that loses a version race counts
   * nothing. Withdrawals (unpublish, archive, delete) are neither counted nor refused: each needs
   * an earlier counted publication, so the fan-out stays bounded (at twice the limit), and an
   * author can always take a post down. Staff acting on others' posts are not counted (the caller).
   * A reschedule of a scheduled post counts too: it moves the post to a new place in every
   * follower's timeline, as the fan-out's `samePlace` rule sees it (review 4, #1).
   */
  private publicationLimit(authorId: string, before: FeedPlace, after: FeedPlace): TransactionPart {
    const newPlace =
      after.status === 'published' && (before.status !== 'published' || before.publishedAt !== after.publishedAt);
    if (!newPlace) return [];
    return this.limiter.countOnCommit(
      { rule: this.config.rateLimits.publishPerAuthor, subject: authorId },
      ErrorCode.TooManyPublishes,
    );
  }

  /** Back to draft: out of every feed, counts adjusted. */
  unpublish(postId: string, viewer: AuthUser): Promise<PostRead> {
    return onceMoreOnRace(async () => {
      const { post } = await this.manageable(postId, viewer, false);
      return this.transition(post, postTransition(post, { to: 'draft' }, this.clock.now()), viewer);
    });
  }

  archive(postId: string, viewer: AuthUser): Promise<PostRead> {
    return onceMoreOnRace(async () => {
      const { post } = await this.manageable(postId, viewer, false);
      return this.transition(post, postTransition(post, { to: 'archived' }, this.clock.now()), viewer);
    });
  }

  /**
   * Deletes at once (post, content, slug, links and counts in one transaction). Its likes and
   * comments are removed by the stream processor when it sees the post's removal
   * (src/stream/handlers/post-cascade.handler.ts), not in the request: a crash cannot cut the
   * request in two, and its cost does not grow with the post's comments.
   */
  async delete(postId: string, viewer: AuthUser): Promise<void> {
    const { post } = await this.manageable(postId, viewer, true);
    const { content: _content, ...summary } = post;
    await this.posts.delete(summary, this.clock.now(), this.slugs.release('post', post.slug, post.id));
  }

  /** The published feed, optionally by category (slug), tag (slug) or author (id); one filter at a time. */
  async feed(
    filter: { category?: string; tag?: string; author?: string },
    limit: number,
    cursor?: string,
  ): Promise<Page<PostSummary>> {
    const filters = [filter.category, filter.tag, filter.author].filter((f) => f !== undefined);
    if (filters.length > 1)
      throw badRequest(ErrorCode.ValidationFailed, 'Filter by one of category, tag or author at a time.');
    const at = this.clock.now();
    const now = at.toISOString();
    let page: Page<PostSummary>;
    if (filter.tag !== undefined) {
      const tagId = await this.slugs.cachedOwnerOf('tag', filter.tag);
      page = tagId ? await this.posts.tagFeed(tagId, limit, cursor, now) : { items: [], nextCursor: null };
    } else if (filter.category !== undefined) {
      const categoryId = await this.slugs.cachedOwnerOf('category', filter.category);
      page = categoryId
        ? await this.posts.categoryFeed(categoryId, limit, cursor, now)
        : { items: [], nextCursor: null };
    } else if (filter.author !== undefined) {
      page = await this.posts.authorFeed(filter.author, limit, cursor, now);
    } else {
      page = await this.posts.globalFeed(limit, cursor, now);
    }
    return { items: page.items.filter((post) => isLive(post, at)), nextCursor: page.nextCursor };
  }

  /** The caller's own posts in any status, or one status. */
  async ownPosts(
    authorId: string,
    status: PostStatus | undefined,
    limit: number,
    cursor?: string,
  ): Promise<Page<PostSummary>> {
    if (!status) return this.posts.ownPosts(authorId, undefined, limit, cursor);
    // `scheduled` and `published` share the stored status (the index partition): each is the other
    // filtered out after the read, so a page short by them is filled from its cursor.
    const stored = status === 'scheduled' ? 'published' : status;
    const now = this.clock.now();
    return filledPage(limit, cursor, async (missing, from) => {
      const page = await this.posts.ownPosts(authorId, stored, missing, from);
      return { items: page.items.filter((post) => effectiveStatus(post, now) === status), nextCursor: page.nextCursor };
    });
  }

  /**
   * Skips `n` entries of a list, for an offset (the Conduit API): the list's Query with
   * `Select: COUNT`, no item read or returned. Scheduled posts are outside the Query's key range.
   */
  skip(list: PostList, n: number, cursor?: string): Promise<SkippedEntries> {
    return this.posts.skip(list, n, cursor, this.clock.now().toISOString());
  }

  /**
   * Exact counts of live posts from the counters (src/posts/published-counters.ts), never by
   * reading the list: the whole table's, an author's or a tag's counter, less the scheduled
   * posts not out yet (one `Select: COUNT` Query of those entries).
   */
  async liveCount(of: { author?: string; tag?: { id: string; postCount: number } } = {}): Promise<number> {
    const now = this.clock.now().toISOString();
    if (of.author !== undefined) return this.posts.authorLiveCount(of.author, now);
    if (of.tag !== undefined) return of.tag.postCount - (await this.posts.tagScheduledCount(of.tag.id, now));
    return this.posts.liveCount(now);
  }

  /**
   * How many of a user's liked posts are out, as the favorites list pages through them: their
   * `likedCount` (likes of posts in the feeds) less those of posts scheduled for later (one
   * GetItem and one COUNT Query). A withdrawn post's likes leave the count when the stream
   * processor hides them and come back with it; a deleted post's go with it (docs/conduit.md).
   */
  likedCount(userId: string): Promise<number> {
    return this.posts.likedLiveCount(userId, this.clock.now().toISOString());
  }

  /** Which of these posts the user likes: one BatchGetItem of the like items (for a list page). */
  likedAmong(userId: string, postIds: string[]): Promise<Set<string>> {
    return this.posts.likedAmong(userId, postIds);
  }

  /** The contents of a page of posts by id: one BatchGetItem (100 a call). */
  contents(postIds: string[]): Promise<Map<string, string>> {
    return this.posts.findContents(postIds);
  }

  /**
   * The user's liked posts that are out, newest first by place: a like of a post withdrawn since
   * keeps its place only until the stream processor hides it (src/posts/like-visibility.ts), and
   * one of a post deleted until the cascade removes it; both are filtered here meanwhile. A page
   * short by them is filled from its cursor (`filledPage`: at most 2 more reads of the missing
   * count, each a Query and a BatchGetItem).
   */
  likedBy(userId: string, limit: number, cursor?: string): Promise<Page<PostSummary>> {
    return filledPage(limit, cursor, (missing, from) => this.likedEntries(userId, missing, from));
  }

  /**
   * The next `limit` entries of the user's likes, those of them shown: one read, never filled, for
   * an offset page (Conduit's `?favorited=`), where entries are counted shown or not.
   */
  async likedEntries(userId: string, limit: number, cursor?: string): Promise<Page<PostSummary>> {
    const now = this.clock.now();
    const page = await this.posts.likedBy(userId, limit, cursor, now.toISOString());
    return { items: page.items.filter((post) => isLive(post, now)), nextCursor: page.nextCursor };
  }

  /**
   * Idempotent like / unlike of a live post; answers the state after the call. The post is read as
   * a view reads it (remembered per instance for VIEW_READ_CACHE_SECONDS: at 2,000 likes/s, a read
   * per like would pass the post partition's 3,000 RCU/s); a like on a post withdrawn meanwhile is
   * hidden by the stream's like-place check, one on a post deleted meanwhile is refused by its
   * counter's tombstone or removed by the cascade (src/posts/like-shards.ts). A like of a post that
   * is not hot on this instance is counted on its counter item, in `likeCount` at once; one of a hot
   * post on its like shard (LIKE_DIRECT_MAX_PER_SECOND, src/posts/like-heat.ts; review 12, M3).
   */
  async setLike(postId: string, viewer: AuthUser, liked: boolean): Promise<{ liked: boolean; likeCount: number }> {
    const now = this.clock.now();
    const read = await this.viewReads.get(postId, now, () => this.posts.findForCounting(postId));
    if (!read || !isLive(read.summary, now)) throw postNotFound();
    const direct = !this.heat.like(postId, now);
    const changed = liked
      ? await this.posts.addLike(postId, viewer.userId, now.toISOString(), postNotFound, direct)
      : await this.posts.removeLike(postId, viewer.userId, postNotFound, direct);
    if (changed) this.viewReads.countLike(postId, liked ? 1 : -1);
    // The count read before the write, plus this write: no second read (the like path is 3 calls
    // with the guard's). Exact for likes counted on the post; likes counted on the shards and not
    // folded yet are missing from it (the post's `likeCount` is exact once the stream has run), so
    // an unlike of one would answer -1: never below 0.
    const likeCount = Math.max(
      0,
      (read.summary.likeCount ?? 0) + read.counts.likeCount + (changed ? (liked ? 1 : -1) : 0),
    );
    return { liked, likeCount };
  }

  /**
   * Who is viewing, as a view-marker key: the user id, or a keyed hash of the client's address
   * block (an IPv4 address, an IPv6 /64; keyed, so the stored value cannot be reversed by trying
   * every IPv4 address). Not the user agent (review 19a M2): the caller picks it, so a loop that
   * changed it was a new viewer each time. The price: anonymous readers behind one address (an
   * office, a carrier's NAT) count as one viewer per post per hour.
   */
  viewerKey(userId: string | undefined, ip: string | undefined): string {
    if (userId) return `U${userId}`;
    return `A${createHmac('sha256', this.viewerHashKey).update(clientSubject(ip)).digest('base64url')}`;
  }

  /**
   * Counts a view once per viewer per post per hour, so loops cannot inflate `viewCount`. A viewer
   * this instance counted (or saw refused) within the hour writes nothing: the answer is the count
   * as read (review 19c, M1: the refused conditional write is billed too). Nor does a view from a
   * `client` (its `clientSubject`, signed in or not) that spent its budget of views sent to the
   * table on this instance (VIEW_RATE_MAX_PER_CLIENT, src/posts/view-budgets.ts): still 200, not 429.
   */
  async addView(postId: string, viewer: string, client: string): Promise<number> {
    const now = this.clock.now();
    const read = await this.viewReads.get(postId, now, () => this.posts.findForCounting(postId));
    if (!read || !isLive(read.summary, now)) throw postNotFound();
    if (this.viewers.has(postId, viewer, now) || !this.viewBudgets.take(client, now)) {
      return (read.summary.viewCount ?? 0) + read.counts.viewCount;
    }
    const count = await this.posts.addView(read, viewer, now, VIEW_DEDUP_SECONDS, this.config.viewCounterShards);
    if (count === undefined) throw postNotFound();
    this.viewers.remember(postId, viewer, new Date(now.getTime() + VIEW_DEDUP_SECONDS * 1000));
    return count;
  }

  private canSee(post: PostSummary, viewer?: AuthUser): boolean {
    return canSeePost(post, viewer, this.clock.now());
  }

  /**
   * The post, if the viewer may change it: its author or an admin (`allowModerators` for
   * deletion). Someone who cannot even see it gets 404, so existence does not leak.
   */
  private async manageable(postId: string, viewer: AuthUser, allowModerators: boolean): Promise<PostRead> {
    const read = await this.posts.findById(postId);
    assertMayManagePost(read?.post, viewer, this.clock.now(), allowModerators);
    return read!;
  }

  private async transition(post: Post, change: Partial<PostSummary>, viewer: AuthUser): Promise<PostRead> {
    // Staff acting on someone else's post are not counted: an author who fills their own window
    // must not stop a moderator from taking their post down (review 3, #2).
    const limit =
      viewer.userId === post.authorId ? this.publicationLimit(post.authorId, post, { ...post, ...change }) : [];
    const { content: _content, ...before } = post;
    const after: PostSummary = { ...before, ...change, updatedAt: this.clock.now().toISOString() };
    await this.posts.save(before, after, undefined, limit);
    return this.readBack(post.id, viewer);
  }

  /**
   * A post as written, read back with whether the caller likes it (the like's key in the same
   * BatchGetItem): every write that answers a post answers what a read would (review 18c: the
   * publish answer lacked `likedByMe`, and an archived or re-published post can be liked).
   */
  private async readBack(postId: string, viewer: AuthUser): Promise<PostRead> {
    return (await this.posts.findById(postId, viewer.userId))!;
  }

  /** Unknown tags or category are 422 naming the ids (one BatchGetItem / GetItem). */
  private async assertTaxonomyExists(tagIds: string[], categoryId: string | undefined): Promise<void> {
    const unknown = await this.taxonomy.unknownTagIds(tagIds);
    if (unknown.length > 0) {
      throw unprocessable(ErrorCode.TagNotFound, `Unknown tag id(s): ${unknown.join(', ')}`, { invalidIds: unknown });
    }
    if (categoryId && !(await this.taxonomy.categoryExists(categoryId))) {
      throw unprocessable(ErrorCode.CategoryNotFound, `Unknown category id: ${categoryId}`, {
        invalidIds: [categoryId],
      });
    }
  }

  private async replay(userId: string, key: string, requestHash: string): Promise<Post | undefined> {
    const stored = await this.posts.findIdempotent(userId, key);
    if (!stored) return undefined;
    if (stored.requestHash !== requestHash) {
      throw unprocessable(ErrorCode.IdempotencyKeyReused, 'This Idempotency-Key was used with a different request.');
    }
    const read = await this.posts.findById(stored.postId);
    if (!read) throw postNotFound();
    return read.post;
  }
}

/**
 * Whether the post is this author's, was scheduled at `since` (stored `published`, placed after it)
 * and has not been changed since (a later change was someone's decision: a reschedule after a
 * reactivation, an admin's).
 */
const scheduledAt = (post: PostSummary, authorId: string, since: string): boolean =>
  post.authorId === authorId &&
  post.status === 'published' &&
  (post.publishedAt ?? '') > since &&
  post.updatedAt <= since;

/** The idempotency item appeared between our read and our write: a concurrent retry. */
class IdempotencyRace extends DomainError {
  constructor() {
    super(409, ErrorCode.IdempotencyKeyReused, 'A request with this Idempotency-Key is in progress.');
  }
}
