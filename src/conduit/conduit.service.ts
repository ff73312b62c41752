import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import type { AuthUser } from '../identity/auth-user.js';
import { AuthService, type ClientInfo, type IssuedTokens } from '../auth/auth.service.js';
import { DomainError, notFound, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { slugify } from '../slugs/slugify.js';
import type { Page } from '../dynamo/pagination.js';
import { normalizeEmail } from '../dynamo/keys.js';
import { nothingWritten } from '../dynamo/transactions.js';
import { CommentsService } from '../comments/comments.service.js';
import type { Comment } from '../comments/comment.entity.js';
import { FeedService } from '../feed/feed.service.js';
import { FollowsService } from '../follows/follows.service.js';
import type { Post, PostList, PostSummary, SkippedEntries } from '../posts/post.entity.js';
import { shownCount } from '../posts/post.mapper.js';
import { type PublicationTaken, PostsService } from '../posts/posts.service.js';
import { TaxonomyService } from '../taxonomy/taxonomy.service.js';
import type { Profile, User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { ProfileChanges } from '../users/users.repository.js';
import {
  CONDUIT_DEFAULT_LIMIT,
  type ConduitArticleChangesDto,
  type ConduitArticleDto,
  type ConduitArticlesQueryDto,
  type ConduitArticlesResponseDto,
  type ConduitCommentDto,
  type ConduitFeedQueryDto,
  type ConduitNewArticleDto,
  type ConduitNewUserDto,
  type ConduitProfileDto,
  type ConduitUserChangesDto,
  type ConduitUserDto,
} from './dto/conduit.dto.js';

/**
 * Whether a failed `PostsService.create` surely wrote no post, so the publication taken for it may
 * be given back (review 20c, L3): its transaction was cancelled or never sent (`nothingWritten`),
 * or it refused with a `DomainError`, which it raises only before sending its transaction (an
 * unknown tag, no free slug left) or for a cancelled one. An unknown outcome (a timeout or a cut
 * connection after the transaction was sent, which may have committed it) keeps the publication
 * counted: one too many in the window is the safe side of a limit, one too few lets a post through.
 */
const postNotWritten = (error: unknown): boolean => error instanceof DomainError || nothingWritten(error);

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Comments a Conduit article shows: its first page of the thread (the spec has no paging). */
const COMMENTS_SHOWN = 100;
/** A skip to an offset: how many entries it passed and the cursor after them. */
type Skip = (n: number, cursor: string | undefined) => Promise<SkippedEntries>;

const fieldError = (field: string, message: string) =>
  unprocessable(ErrorCode.ValidationFailed, message, { errors: [{ field, messages: [message] }] });

/** A page read by offset; `total` when the list ended before the offset (then its length is known). */
interface OffsetPage<T> {
  items: T[];
  more: boolean;
  total?: number;
}

/**
 * Pages a cursor listing by `offset`. An offset counts the list's entries (index entries, feed
 * places), shown or not: `skip` passes `offset` entries (asked for all at once; DynamoDB's 1 MB
 * page may cut a call short, and the loop goes on), then `fetch` reads the next `limit` entries
 * and the page is those of them that are shown. It never reads on past them to fill a page that
 * entries filtered on read (a withdrawn or deleted post's like, a feed entry of a post gone)
 * made short: the next offset's skip would land inside what it read, and consecutive pages
 * would repeat an article (or, counted the other way, skip one). So offsets 0, n, 2n, ...
 * partition the list exactly, and a page can hold fewer than `limit` (docs/conduit.md).
 * The skip's cost grows with the offset, which CONDUIT_MAX_OFFSET bounds.
 */
async function offsetPage<T>(
  fetch: (limit: number, cursor: string | undefined) => Promise<Page<T>>,
  skip: Skip,
  offset: number,
  limit: number,
): Promise<OffsetPage<T>> {
  let cursor: string | undefined;
  let skipped = 0;
  while (skipped < offset) {
    const page = await skip(offset - skipped, cursor);
    skipped += page.skipped;
    // The list ended before the offset: its whole length is known.
    if (!page.nextCursor) return { items: [], more: false, total: skipped };
    cursor = page.nextCursor;
  }
  const page = await fetch(limit, cursor);
  return { items: page.items, more: page.nextCursor !== null };
}

/**
 * The RealWorld ("Conduit") API as an adapter: every rule, key and query is the native services'
 * (users, auth, posts, likes, comments, taxonomy, follows, feed); this class only translates
 * shapes and names (docs/conduit.md has each mapping decision).
 */
@Injectable()
export class ConduitService {
  private readonly logger = new Logger('ConduitService');

  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly posts: PostsService,
    private readonly comments: CommentsService,
    private readonly taxonomy: TaxonomyService,
    private readonly follows: FollowsService,
    private readonly feed: FeedService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  // --- users ------------------------------------------------------------------------------

  /** Registers and signs in with a session-long token (no profile yet: bio and image are null). */
  async register(dto: ConduitNewUserDto, client: ClientInfo): Promise<ConduitUserDto> {
    // RealWorld requires it; natively it is derived from the email when absent.
    if (dto.username === undefined) throw fieldError('username', "can't be blank");
    const issued = await this.auth.register(
      { email: dto.email, password: dto.password, username: dto.username },
      client,
      'session',
    );
    return this.userOf(issued.user, undefined, issued.accessToken);
  }

  async login(email: string, password: string, client: ClientInfo): Promise<ConduitUserDto> {
    const issued: IssuedTokens = await this.auth.login(email, password, client, 'session');
    const profiles = await this.users.profilesOf([issued.user.id]);
    return this.userOf(issued.user, profiles.get(issued.user.id), issued.accessToken);
  }

  async currentUser(viewer: AuthUser, token: string): Promise<ConduitUserDto> {
    const { user, profile } = await this.users.getOwn(viewer.userId);
    return this.userOf(user, profile, token);
  }

  /**
   * Username, bio and image change here. The email may only be sent unchanged (a no-op: clients
   * send the whole user back); a real change of email or password needs the current password,
   * which this API does not carry, so it is a 422 naming the native endpoint.
   */
  async updateUser(viewer: AuthUser, token: string, changes: ConduitUserChangesDto): Promise<ConduitUserDto> {
    const { user } = await this.users.getOwn(viewer.userId);
    if (changes.email !== undefined && normalizeEmail(changes.email) !== user.email) {
      throw fieldError(
        'email',
        'is changed with POST /api/v1/users/me/email, which needs the current password and a confirmation from the new address',
      );
    }
    if (changes.password !== undefined) {
      throw fieldError('password', 'is changed with POST /api/v1/auth/password, which needs the current password');
    }
    if (changes.username !== undefined && changes.username !== user.username) {
      await this.users.updateOwn(viewer.userId, { username: changes.username }, undefined);
    }
    const profile: ProfileChanges = {};
    if (changes.bio !== undefined) profile.bio = changes.bio;
    if (changes.image !== undefined) profile.avatarUrl = changes.image;
    if (Object.keys(profile).length > 0) await this.users.updateProfile(viewer.userId, profile, undefined);
    return this.currentUser(viewer, token);
  }

  // --- profiles ---------------------------------------------------------------------------

  async profile(username: string, viewer: AuthUser | undefined): Promise<ConduitProfileDto> {
    const { user, profile } = await this.users.getByUsername(username);
    const following = viewer ? await this.follows.isFollowing(viewer.userId, user.id) : false;
    return { username: user.username, bio: profile.bio ?? null, image: profile.avatarUrl ?? null, following };
  }

  /**
   * Follows or unfollows by username, as the native `PUT`/`DELETE /api/v1/users/{id}/follow`. A
   * deactivated account cannot be followed (`404`, as its profile) but can be unfollowed, as
   * natively: it keeps its followers' edges (in their `followingCount` and fan-in sets, though no
   * listing shows it), and the unfollow is how a follower drops it. The answer is then its
   * profile with the username only (no bio, no image), the profile itself staying hidden (`404`).
   */
  async setFollowing(viewer: AuthUser, username: string, following: boolean): Promise<ConduitProfileDto> {
    const authorId = await this.userIdOf(username);
    if (following) {
      await this.follows.follow(viewer.userId, authorId);
      return this.profile(username, viewer);
    }
    await this.follows.unfollow(viewer.userId, authorId);
    try {
      return await this.profile(username, viewer);
    } catch (error) {
      // Deactivated: the unfollow is done, the profile stays hidden.
      if (error instanceof DomainError && error.code === ErrorCode.UserNotFound) {
        return { username, bio: null, image: null, following: false };
      }
      throw error;
    }
  }

  // --- articles ---------------------------------------------------------------------------

  /**
   * The article lists: by one of `tag`, `author` (username) or `favorited` (username), or all.
   * An unknown tag or username is an empty list, as RealWorld clients expect; so is a deactivated
   * account's, resolved as its public profile is (404 there: review 19a, L2). `favorited` lists
   * another account's likes, which are private natively, only with CONDUIT_PUBLIC_FAVORITES on.
   */
  async articles(query: ConduitArticlesQueryDto, viewer: AuthUser | undefined): Promise<ConduitArticlesResponseDto> {
    const filters = [query.tag, query.author, query.favorited].filter((filter) => filter !== undefined);
    if (filters.length > 1) throw fieldError('query', 'filter by one of tag, author or favorited at a time');
    const limit = query.limit ?? CONDUIT_DEFAULT_LIMIT;
    const offset = query.offset ?? 0;
    const empty = { articles: [], articlesCount: 0 };

    // Each list's count is a counter kept exact in the transactions that change the list
    // (docs/conduit.md): read beside the page, never counted by reading the list.
    let fetch: (limit: number, cursor: string | undefined) => Promise<Page<PostSummary>>;
    let list: PostList;
    let count: Promise<number>;
    // Whether the user a list is of is shown (not deactivated): read beside the page.
    let shown = Promise.resolve(true);
    if (query.tag !== undefined) {
      const slug = slugify(query.tag);
      const tag = slug ? await this.taxonomy.tagBySlug(slug).catch(notFoundAs(undefined)) : undefined;
      if (!tag) return empty;
      count = this.posts.liveCount({ tag });
      list = { tagId: tag.id };
      fetch = (n, cursor) => this.posts.feed({ tag: tag.slug }, n, cursor);
    } else if (query.author !== undefined) {
      const authorId = await this.users.idByUsername(query.author);
      if (!authorId) return empty;
      shown = this.users.isPublic(authorId);
      count = this.posts.liveCount({ author: authorId });
      list = { authorId };
      fetch = (n, cursor) => this.posts.feed({ author: authorId }, n, cursor);
    } else if (query.favorited !== undefined) {
      // Off, likes stay as private as natively (GET /users/me/likes): a signed-in reader's own
      // list is answered, anyone else's is an empty list (a RealWorld client shows "no articles").
      // (The reader's own account is active: the token's session says so.)
      const publicFavorites = this.config.conduitPublicFavorites;
      if (!publicFavorites && !viewer) return empty;
      const userId = await this.users.idByUsername(query.favorited);
      if (!userId || (!publicFavorites && userId !== viewer?.userId)) return empty;
      if (publicFavorites) shown = this.users.isPublic(userId);
      count = this.posts.likedCount(userId);
      list = { likedBy: userId };
      fetch = (n, cursor) => this.posts.likedEntries(userId, n, cursor);
    } else {
      count = this.posts.liveCount();
      list = {};
      fetch = (n, cursor) => this.posts.feed({}, n, cursor);
    }
    const skip: Skip = (n, cursor) => this.posts.skip(list, n, cursor);
    const [page, articlesCount, listed] = await Promise.all([offsetPage(fetch, skip, offset, limit), count, shown]);
    if (!listed) return empty;
    return { articles: await this.articlesOf(page.items, viewer), articlesCount };
  }

  /**
   * The reader's feed (native `GET /feed`), paged by offset: one read of the feed's sources for
   * `offset + limit` places (each fan-in author queried once), whatever the offset (review 19a M5).
   */
  async feedArticles(viewer: AuthUser, query: ConduitFeedQueryDto): Promise<ConduitArticlesResponseDto> {
    const limit = query.limit ?? CONDUIT_DEFAULT_LIMIT;
    const offset = query.offset ?? 0;
    // Read beside the page, from the feed's day counters (FeedService.count), like the other lists.
    const [page, articlesCount] = await Promise.all([
      this.feed.pageAtOffset(viewer.userId, limit, offset),
      this.feed.count(viewer.userId),
    ]);
    return { articles: await this.articlesOf(page.items, viewer), articlesCount };
  }

  async article(slug: string, viewer: AuthUser | undefined): Promise<ConduitArticleDto> {
    const { post, likedByViewer } = await this.posts.getBySlug(slug, viewer);
    return this.articleOf(post, likedByViewer, viewer);
  }

  /**
   * Published at once (in the creating transaction); tag names are found or created, once the
   * publication is taken from the author's window (review 19a M3): a request the limit refuses
   * creates no tag, even when concurrent requests race for the last publication (session 20: a
   * read of the window let them all pass and make their tags). The take (a conditional write) is
   * made only when a name is new (review 19c, L3); otherwise the creating transaction counts the
   * publication and decides. A failure after the take gives the publication back only when the
   * post was surely not written (review 20c, L3; `postNotWritten`).
   */
  async createArticle(viewer: AuthUser, dto: ConduitNewArticleDto): Promise<ConduitArticleDto> {
    const taken: { publication?: PublicationTaken } = {};
    let creating = false;
    let post: Post;
    try {
      const tags = await this.taxonomy.tagsNamed(dto.tagList ?? [], async (newTags) => {
        taken.publication = await this.posts.takePublication(viewer);
        await this.posts.countNewTags(viewer, newTags);
      });
      creating = true;
      ({ post } = await this.posts.create(
        viewer,
        { title: dto.title, excerpt: dto.description, content: dto.body, tagIds: tags.map((tag) => tag.id) },
        undefined,
        { publishNow: true, publicationTaken: taken.publication },
      ));
    } catch (error) {
      if (taken.publication && (!creating || postNotWritten(error))) await this.giveBack(taken.publication);
      throw error;
    }
    return this.articleOf(post, false, viewer);
  }

  /** Best effort: the request's own error is the answer; a failed give-back is logged, never thrown. */
  private async giveBack(publication: PublicationTaken): Promise<void> {
    try {
      await publication.giveBack();
    } catch (error) {
      this.logger.warn(
        `A publication taken for a new article could not be given back; the author's window counts one more until it ends: ${describeError(error)}`,
      );
    }
  }

  async updateArticle(viewer: AuthUser, slug: string, changes: ConduitArticleChangesDto): Promise<ConduitArticleDto> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    // Before the tags are found or created: a refused update creates none (review 19a, M3).
    this.posts.assertMayUpdate(post, viewer);
    const tagIds = changes.tagList
      ? (await this.taxonomy.tagsNamed(changes.tagList, (newTags) => this.posts.countNewTags(viewer, newTags))).map(
          (tag) => tag.id,
        )
      : undefined;
    const updated = await this.posts.update(post.id, viewer, {
      title: changes.title,
      excerpt: changes.description,
      content: changes.body,
      tagIds,
    });
    return this.articleOf(updated.post, updated.likedByViewer, viewer);
  }

  async deleteArticle(viewer: AuthUser, slug: string): Promise<void> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    await this.posts.delete(post.id, viewer);
  }

  async setFavorite(viewer: AuthUser, slug: string, favorite: boolean): Promise<ConduitArticleDto> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    const { liked, likeCount } = await this.posts.setLike(post.id, viewer, favorite);
    return this.articleOf({ ...post, likeCount }, liked, viewer);
  }

  // --- comments ---------------------------------------------------------------------------

  async commentsOf(slug: string, viewer: AuthUser | undefined): Promise<ConduitCommentDto[]> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    const page = await this.comments.thread(post.id, viewer, COMMENTS_SHOWN);
    const shown = page.items.filter((comment) => !comment.deleted && comment.authorId !== undefined);
    const [profiles, followed] = await this.authorsOf(
      shown.map((comment) => comment.authorId!),
      viewer,
    );
    return shown.map((comment) => this.commentOf(comment, profiles, followed));
  }

  /**
   * Approved or pending by the native policy (`COMMENT_AUTO_APPROVE`; review 19a, M1): a pending
   * comment is answered and listed to its author only, until a moderator approves it.
   */
  async addComment(viewer: AuthUser, slug: string, body: string): Promise<ConduitCommentDto> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    const comment = await this.comments.create(post.id, viewer, body);
    const [profiles] = await this.authorsOf([viewer.userId], undefined);
    return this.commentOf(comment, profiles, new Set());
  }

  async deleteComment(viewer: AuthUser, slug: string, commentId: string): Promise<void> {
    const { post } = await this.posts.getBySlug(slug, viewer);
    await this.comments.delete(post.id, commentId, viewer);
  }

  // --- tags -------------------------------------------------------------------------------

  /** The 100 most used tags' names (one Query of the tag popularity index). */
  async tags(): Promise<string[]> {
    const page = await this.taxonomy.listTags('popular', 100);
    return page.items.map((tag) => tag.name);
  }

  // --- mapping ----------------------------------------------------------------------------

  private async userIdOf(username: string): Promise<string> {
    const userId = await this.users.idByUsername(username);
    if (!userId) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    return userId;
  }

  private userOf(user: User, profile: Profile | undefined, token: string): ConduitUserDto {
    return {
      email: user.email,
      token,
      username: user.username,
      bio: profile?.bio ?? null,
      image: profile?.avatarUrl ?? null,
    };
  }

  /** The profiles and the viewer's follow edges of some authors: two BatchGetItems in parallel. */
  private authorsOf(authorIds: string[], viewer: AuthUser | undefined): Promise<[Map<string, Profile>, Set<string>]> {
    return Promise.all([
      this.users.profilesOf(authorIds),
      viewer ? this.follows.followedAmong(viewer.userId, authorIds) : Promise.resolve(new Set<string>()),
    ]);
  }

  /**
   * A page of articles: contents, the viewer's likes, the authors' profiles, the viewer's follow
   * edges and the tags' names, each one BatchGetItem, all in parallel: the cost of a page does
   * not grow with its length beyond the 100 keys a call takes.
   */
  private async articlesOf(summaries: PostSummary[], viewer: AuthUser | undefined): Promise<ConduitArticleDto[]> {
    if (summaries.length === 0) return [];
    const ids = summaries.map((summary) => summary.id);
    const [contents, liked, [profiles, followed], tags] = await Promise.all([
      this.posts.contents(ids),
      viewer ? this.posts.likedAmong(viewer.userId, ids) : Promise.resolve(new Set<string>()),
      this.authorsOf(
        summaries.map((summary) => summary.authorId),
        viewer,
      ),
      this.taxonomy.tagsByIds(summaries.flatMap((summary) => summary.tagIds)),
    ]);
    const names = new Map(tags.map((tag) => [tag.id, tag.name]));
    return summaries.map((summary) =>
      this.toArticle(
        { ...summary, content: contents.get(summary.id) ?? '' },
        liked.has(summary.id),
        profiles,
        followed,
        names,
      ),
    );
  }

  private async articleOf(post: Post, favorited: boolean, viewer: AuthUser | undefined): Promise<ConduitArticleDto> {
    const [[profiles, followed], tags] = await Promise.all([
      this.authorsOf([post.authorId], viewer),
      this.taxonomy.tagsByIds(post.tagIds),
    ]);
    return this.toArticle(post, favorited, profiles, followed, new Map(tags.map((tag) => [tag.id, tag.name])));
  }

  private toArticle(
    post: Post,
    favorited: boolean,
    profiles: Map<string, Profile>,
    followed: Set<string>,
    tagNames: Map<string, string>,
  ): ConduitArticleDto {
    return {
      slug: post.slug,
      title: post.title,
      description: post.excerpt,
      body: post.content,
      // Sorted, as RealWorld clients and its test suite expect.
      tagList: post.tagIds.flatMap((id) => tagNames.get(id) ?? []).sort(),
      createdAt: post.createdAt,
      updatedAt: post.updatedAt,
      favorited,
      favoritesCount: shownCount(post.likeCount),
      author: this.profileOf(post.authorId, post.authorUsername, profiles, followed),
    };
  }

  private commentOf(comment: Comment, profiles: Map<string, Profile>, followed: Set<string>): ConduitCommentDto {
    return {
      id: comment.id,
      createdAt: comment.createdAt,
      updatedAt: comment.updatedAt,
      body: comment.content ?? '',
      author: this.profileOf(comment.authorId!, comment.authorUsername, profiles, followed),
    };
  }

  /** An author as Conduit shows one, from the username copied on the post or comment. */
  private profileOf(
    authorId: string,
    username: string | undefined,
    profiles: Map<string, Profile>,
    followed: Set<string>,
  ): ConduitProfileDto {
    const profile = profiles.get(authorId);
    return {
      username: username ?? authorId,
      bio: profile?.bio ?? null,
      image: profile?.avatarUrl ?? null,
      following: followed.has(authorId),
    };
  }
}

/** A 404 domain error becomes `value`; anything else is rethrown. */
const notFoundAs =
  <T>(value: T) =>
  (error: unknown): T => {
    if (error instanceof DomainError && error.status === 404) return value;
    throw error;
  };
