import createClient, { type Client } from 'openapi-fetch';
import { ProblemError } from './errors.js';
import type { components, operations, paths } from './generated/schema.js';
import { memoryTokenStorage, SharedRefresh, type TokenPair, type TokenStorage } from './tokens.js';

type Schemas = components['schemas'];
export type Post = Schemas['PostDto'];
export type PostSummary = Schemas['PostSummaryDto'];
export type Me = Schemas['MeWithProfileDto'];
export type AuthTokens = Schemas['AuthTokensDto'];
export type CreatePost = Schemas['CreatePostDto'];
export type UpdatePost = Schemas['UpdatePostDto'];
export type FeedQuery = NonNullable<operations['postsFeed']['parameters']['query']>;
export type OwnPostsQuery = NonNullable<operations['userPostsOwn']['parameters']['query']>;
export type PostPage = Schemas['PostPageDto'];
export type Comment = Schemas['CommentDto'];
export type CommentPage = Schemas['CommentPageDto'];
export type CommentsQuery = NonNullable<operations['commentsThread']['parameters']['query']>;
export type CreateComment = Schemas['CreateCommentDto'];
export type LikeState = Schemas['LikeStateDto'];
export type FollowState = Schemas['FollowStateDto'];
export type PersonalFeedQuery = NonNullable<operations['feedPage']['parameters']['query']>;

export interface PublishingClientOptions {
  /** The API's origin, e.g. `http://localhost:3000` (paths carry `/api/v1`). */
  baseUrl: string;
  /** Where the token pair lives; memory by default. */
  storage?: TokenStorage;
  /** The fetch to use (tests and React Native pass their own); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** How many times a create is sent when the network fails or the server answers 5xx (same key). */
  createAttempts?: number;
}

/** What a single-resource read gives back and a conditional write needs: its `version` (the ETag). */
export interface Versioned {
  id: string;
  version: number;
}

/** The `If-Match` of an entity read before: the API's ETag is its version, quoted. */
const ifMatch = (entity: Versioned) => `"${entity.version}"`;

/** Turns openapi-fetch's `{ data, error, response }` into the data, or throws a `ProblemError`. */
async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw ProblemError.from(response, error);
  return data as T;
}

/** Every item of a cursor listing, fetching the next page only when the loop gets there. */
async function* everyItem<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const { items, nextCursor } = await page(cursor);
    yield* items;
    cursor = nextCursor ?? undefined;
  } while (cursor);
}

/**
 * A client of the Publishing API: the generated, fully typed calls (`client.raw.GET(...)`) plus
 * what an application needs on top — sign-in that keeps the token pair, one shared refresh and
 * retry on `401 token_expired`, idempotent creates, async iteration over cursor pages, typed
 * problem errors and `If-Match` from the entity read before.
 */
export function createPublishingClient(options: PublishingClientOptions) {
  const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const storage = options.storage ?? memoryTokenStorage();
  const createAttempts = options.createAttempts ?? 3;

  // The refresh call goes around the authenticating fetch: it must not itself wait for a refresh.
  const plain = createClient<paths>({ baseUrl: options.baseUrl, fetch: baseFetch });
  const refresh = new SharedRefresh(storage, async (refreshToken): Promise<TokenPair> => {
    const tokens = await unwrap(plain.POST('/api/v1/auth/refresh', { body: { refreshToken } }));
    return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  });

  /** Sends the access token; on `401 token_expired` refreshes once (shared) and retries once. */
  const authenticatingFetch = async (request: Request): Promise<Response> => {
    const tokens = await storage.get();
    if (!tokens) return baseFetch(request);
    const retry = request.clone();
    request.headers.set('authorization', `Bearer ${tokens.accessToken}`);
    const response = await baseFetch(request);
    if (response.status !== 401) return response;
    const problem = (await response
      .clone()
      .json()
      .catch(() => undefined)) as { code?: string } | undefined;
    if (problem?.code !== 'token_expired') return response;
    await refresh.after(tokens.accessToken);
    const fresh = await storage.get();
    if (fresh) retry.headers.set('authorization', `Bearer ${fresh.accessToken}`);
    return baseFetch(retry);
  };
  const raw: Client<paths> = createClient<paths>({ baseUrl: options.baseUrl, fetch: authenticatingFetch });

  const signedIn = async (call: Promise<AuthTokens>): Promise<AuthTokens> => {
    const tokens = await call;
    await storage.set({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
    return tokens;
  };

  return {
    /** The generated client: every operation of the document, typed. */
    raw,
    storage,
    auth: {
      register: (body: Schemas['RegisterDto']) => signedIn(unwrap(plain.POST('/api/v1/auth/register', { body }))),
      login: (email: string, password: string) =>
        signedIn(unwrap(plain.POST('/api/v1/auth/login', { body: { email, password } }))),
      /**
       * Ends the session on the server (best effort) and always forgets the tokens: a session
       * already revoked (401) or a network failure must not leave the user unable to sign out.
       * The server's refusal, if any, still rejects the call.
       */
      async logout(): Promise<void> {
        try {
          await unwrap(raw.POST('/api/v1/auth/logout'));
        } finally {
          await storage.set(undefined);
        }
      },
    },
    me: {
      get: (): Promise<Me> => unwrap(raw.GET('/api/v1/users/me')),
      /** The caller's posts in any status, every page: `for await (const post of client.me.posts())`. */
      posts: (query: Omit<OwnPostsQuery, 'cursor'> = {}): AsyncGenerator<PostSummary, void, undefined> =>
        everyItem((cursor) => unwrap(raw.GET('/api/v1/users/me/posts', { params: { query: { ...query, cursor } } }))),
    },
    posts: {
      /**
       * One page of the published feed, newest first: the whole feed, or a tag's, a category's
       * (slugs) or an author's (id); pass the previous page's `nextCursor` as `cursor`.
       */
      page: (query: FeedQuery = {}): Promise<PostPage> => unwrap(raw.GET('/api/v1/posts', { params: { query } })),
      /** The published feed, every page: `for await (const post of client.posts.list({ tag: 'nestjs' }))`. */
      list: (query: Omit<FeedQuery, 'cursor'> = {}): AsyncGenerator<PostSummary, void, undefined> =>
        everyItem((cursor) => unwrap(raw.GET('/api/v1/posts', { params: { query: { ...query, cursor } } }))),
      get: (id: string): Promise<Post> => unwrap(raw.GET('/api/v1/posts/{id}', { params: { path: { id } } })),
      bySlug: (slug: string): Promise<Post> =>
        unwrap(raw.GET('/api/v1/posts/by-slug/{slug}', { params: { path: { slug } } })),
      /** Likes a published post (idempotent); a post that is not live (any more) is 404 `post_not_found`. */
      like: (id: string): Promise<LikeState> =>
        unwrap(raw.PUT('/api/v1/posts/{id}/like', { params: { path: { id } } })),
      /** Removes the caller's like (idempotent). */
      unlike: (id: string): Promise<LikeState> =>
        unwrap(raw.DELETE('/api/v1/posts/{id}/like', { params: { path: { id } } })),
      /** Publishes a draft now, or schedules it with a future `publishAt` (ISO 8601). */
      publish: (id: string, publishAt?: string): Promise<Post> =>
        unwrap(raw.POST('/api/v1/posts/{id}/publish', { params: { path: { id } }, body: { publishAt } })),
      /** Takes a published or scheduled post back to draft: out of every feed. */
      unpublish: (id: string): Promise<Post> =>
        unwrap(raw.POST('/api/v1/posts/{id}/unpublish', { params: { path: { id } } })),
      /**
       * Creates a draft with an `Idempotency-Key` (generated unless given) and sends it again with
       * the same key when the network fails or the server answers 5xx: one post, however many tries.
       */
      async create(body: CreatePost, idempotencyKey: string = crypto.randomUUID()): Promise<Post> {
        for (let attempt = 1; ; attempt++) {
          try {
            return await unwrap(
              raw.POST('/api/v1/posts', { body, params: { header: { 'Idempotency-Key': idempotencyKey } } }),
            );
          } catch (error) {
            const retryable = !(error instanceof ProblemError) || error.status >= 500;
            if (!retryable || attempt >= createAttempts) throw error;
          }
        }
      },
      /** Changes the post read before; a stale read is a `ProblemError` 412 `version_mismatch`. */
      update: (post: Versioned, changes: UpdatePost): Promise<Post> =>
        unwrap(
          raw.PATCH('/api/v1/posts/{id}', {
            params: { path: { id: post.id }, header: { 'If-Match': ifMatch(post) } },
            body: changes,
          }),
        ),
    },
    users: {
      /** Follows a user (idempotent); yourself is a `ProblemError` 422 `cannot_follow_self`. */
      follow: (id: string): Promise<FollowState> =>
        unwrap(raw.PUT('/api/v1/users/{id}/follow', { params: { path: { id } } })),
      /** Stops following a user (idempotent). */
      unfollow: (id: string): Promise<FollowState> =>
        unwrap(raw.DELETE('/api/v1/users/{id}/follow', { params: { path: { id } } })),
    },
    feed: {
      /** One page of the caller's personal feed (posts of the authors they follow), newest first. */
      page: (query: PersonalFeedQuery = {}): Promise<PostPage> =>
        unwrap(raw.GET('/api/v1/feed', { params: { query } })),
      /** The caller's personal feed, every page: `for await (const post of client.feed.list())`. */
      list: (query: Omit<PersonalFeedQuery, 'cursor'> = {}): AsyncGenerator<PostSummary, void, undefined> =>
        everyItem((cursor) => unwrap(raw.GET('/api/v1/feed', { params: { query: { ...query, cursor } } }))),
    },
    comments: {
      /** One page of a post's thread in display order (each reply right after its parent). */
      page: (postId: string, query: CommentsQuery = {}): Promise<CommentPage> =>
        unwrap(raw.GET('/api/v1/posts/{postId}/comments', { params: { path: { postId }, query } })),
      /** A post's whole thread, every page: `for await (const comment of client.comments.list(postId))`. */
      list: (postId: string, query: Omit<CommentsQuery, 'cursor'> = {}): AsyncGenerator<Comment, void, undefined> =>
        everyItem((cursor) =>
          unwrap(
            raw.GET('/api/v1/posts/{postId}/comments', { params: { path: { postId }, query: { ...query, cursor } } }),
          ),
        ),
      /** Comments on a published post, or replies with `parentId`; it may wait for moderation (`status`). */
      create: (postId: string, body: CreateComment): Promise<Comment> =>
        unwrap(raw.POST('/api/v1/posts/{postId}/comments', { params: { path: { postId } }, body })),
    },
  };
}

export type PublishingClient = ReturnType<typeof createPublishingClient>;
