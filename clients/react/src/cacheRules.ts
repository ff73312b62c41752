import { type LikeState, type Post, type PostPage, type PostSummary, ProblemError } from '@publishing-api/client';
import type { InfiniteData, QueryClient, QueryKey } from '@tanstack/react-query';
import { queryKeys } from './queryKeys.js';

/**
 * What each change does to the cache, in one place (the keys are in `queryKeys.ts`). A post can
 * sit in many entries at once: its own (by id, by slug) and a page of any number of feeds; the
 * rules below find it in all of them rather than guessing which feeds show it.
 */

type FeedData = InfiniteData<PostPage, string | undefined>;
type Entry = [QueryKey, unknown];

const isFeed = (data: unknown): data is FeedData =>
  typeof data === 'object' && data !== null && Array.isArray((data as Partial<FeedData>).pages);
const isPost = (data: unknown): data is Post =>
  typeof data === 'object' && data !== null && typeof (data as Partial<Post>).content === 'string';
const holds = (data: unknown, id: string): boolean =>
  isFeed(data) ? data.pages.some((page) => page.items.some((item) => item.id === id)) : isPost(data) && data.id === id;

/** The cache entries that hold post `id`, with their data now (a snapshot to roll back to). */
function entriesOf(queryClient: QueryClient, id: string): Entry[] {
  return queryClient.getQueriesData({ queryKey: queryKeys.posts() }).filter(([, data]) => holds(data, id));
}

/** Changes post `id` in every entry that holds it: `whole` for its own entries, `summary` in feed pages. */
function patchPost(
  queryClient: QueryClient,
  id: string,
  whole: (post: Post) => Post,
  summary: (post: PostSummary) => PostSummary,
): void {
  for (const [key, data] of entriesOf(queryClient, id)) {
    const next = isFeed(data)
      ? {
          ...data,
          pages: data.pages.map((page) => ({
            ...page,
            items: page.items.map((item) => (item.id === id ? summary(item) : item)),
          })),
        }
      : whole(data as Post);
    queryClient.setQueryData(key, next);
  }
}

export const cacheRules = {
  /**
   * Before a like or unlike reaches the server: the post shows the new state at once everywhere
   * it is cached. Returns the rollback, which puts every entry back as it was.
   */
  async likeOptimistically(queryClient: QueryClient, id: string, liked: boolean): Promise<() => void> {
    // A read in flight of an entry that holds the post would land with the old value over the
    // optimistic one; reads of other feeds and posts (a next page loading) go on.
    await queryClient.cancelQueries({ queryKey: queryKeys.posts(), predicate: (query) => holds(query.state.data, id) });
    const before = entriesOf(queryClient, id);
    // Feed summaries do not say whether the caller likes a post; its own entry does, if cached.
    const known = before.map(([, data]) => data).find(isPost)?.likedByMe;
    const delta = known === liked ? 0 : liked ? 1 : -1;
    patchPost(
      queryClient,
      id,
      (post) => ({ ...post, likeCount: post.likeCount + delta, likedByMe: liked }),
      (post) => ({ ...post, likeCount: post.likeCount + delta }),
    );
    return () => {
      for (const [key, data] of before) queryClient.setQueryData(key, data);
    };
  },

  /** How many likes and unlikes of post `id` are pending, the one settling included. */
  likesInFlight(queryClient: QueryClient, id: string): number {
    return queryClient.isMutating({ mutationKey: queryKeys.likes(), predicate: (m) => m.state.variables === id });
  },

  /**
   * The server's answer to a like or unlike replaces the optimistic guess, unless another like or
   * unlike of the post is still pending: this answer is then older than what the cache shows.
   */
  likeConfirmed(queryClient: QueryClient, id: string, state: LikeState): void {
    if (cacheRules.likesInFlight(queryClient, id) > 1) return;
    patchPost(
      queryClient,
      id,
      (post) => ({ ...post, likeCount: state.likeCount, likedByMe: state.liked }),
      (post) => ({ ...post, likeCount: state.likeCount }),
    );
  },

  /**
   * After a like settles either way, the post's own entries are marked stale (feeds keep the
   * patch), to be read again when next used, not at once: the server's `likeCount` counts a like
   * once its change stream has folded it in, a moment later, so a read right after the like would
   * show the count without it. Not while another like or unlike of it is pending (a rapid like,
   * unlike): the entry keeps what that one will answer. The last one to settle marks them.
   */
  async likeSettled(queryClient: QueryClient, id: string): Promise<void> {
    if (cacheRules.likesInFlight(queryClient, id) > 1) return;
    await queryClient.invalidateQueries({
      queryKey: queryKeys.posts(),
      predicate: (query) => isPost(query.state.data) && query.state.data.id === id,
      refetchType: 'none',
    });
  },

  /**
   * A created or changed post: its own entries take the server's answer (keeping `likedByMe`,
   * which write answers leave out) and every feed is read again, since it may enter, leave or
   * move in any of them.
   */
  postSaved(queryClient: QueryClient, post: Post): Promise<void> {
    const keep = (old: Post | undefined): Post => ({ ...post, likedByMe: post.likedByMe ?? old?.likedByMe });
    patchPost(queryClient, post.id, keep, (summary) => summary);
    queryClient.setQueryData<Post>(queryKeys.post(post.id), keep);
    queryClient.setQueryData<Post>(queryKeys.postBySlug(post.slug), keep);
    return queryClient.invalidateQueries({ queryKey: queryKeys.feeds() });
  },

  /** A refused update: on a stale version (412), the post is read again so the next try can succeed. */
  async updateRefused(queryClient: QueryClient, id: string, error: unknown): Promise<void> {
    if (error instanceof ProblemError && error.code === 'version_mismatch') {
      await queryClient.invalidateQueries({
        queryKey: queryKeys.posts(),
        predicate: (query) => holds(query.state.data, id),
      });
    }
  },

  /**
   * Sign-in, sign-out: who is asking changed, so nothing cached is true any more (`likedByMe`,
   * drafts, the current user). Every entry is emptied; what is on screen is read again.
   */
  sessionChanged(queryClient: QueryClient): Promise<void> {
    return queryClient.resetQueries({ queryKey: queryKeys.all });
  },
};
