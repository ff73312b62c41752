import type {
  Comment,
  CommentPage,
  CreatePost,
  LikeState,
  Me,
  Post,
  PostPage,
  PostSummary,
  UpdatePost,
  Versioned,
} from '@publishing-api/client';
import { type InfiniteData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { cacheRules } from './cacheRules.js';
import { useApiClient } from './context.js';
import { type CommentsFilter, type FeedFilter, queryKeys } from './queryKeys.js';

/*
 * Failed calls reject with the client's `ProblemError` (`status`, `code`) when the API refused
 * them, or with the fetch's own error when the network failed: hence `error: Error`, narrowed
 * with `error instanceof ProblemError`.
 */

/** Cursor pages as TanStack Query keeps them, plus every item in order (`data.items`). */
export type Paged<T, P extends { items: T[] }> = InfiniteData<P, string | undefined> & { items: T[] };

const nextCursor = (page: { nextCursor: string | null }) => page.nextCursor ?? undefined;
const withItems = <T, P extends { items: T[] }>(data: InfiniteData<P, string | undefined>): Paged<T, P> => ({
  ...data,
  items: data.pages.flatMap((page) => page.items),
});

/** The signed-in user with their profile, or `null` when the client holds no session. */
export function useCurrentUser() {
  const client = useApiClient();
  return useQuery({
    queryKey: queryKeys.currentUser(),
    queryFn: async (): Promise<Me | null> => ((await client.storage.get()) ? client.me.get() : null),
  });
}

/** A post by id (`{ id }`) or by slug (`{ slug }`); `likedByMe` is there when signed in. */
export function usePost(ref: { id: string } | { slug: string }) {
  const client = useApiClient();
  return useQuery({
    queryKey: 'id' in ref ? queryKeys.post(ref.id) : queryKeys.postBySlug(ref.slug),
    queryFn: (): Promise<Post> => ('id' in ref ? client.posts.get(ref.id) : client.posts.bySlug(ref.slug)),
  });
}

/**
 * The published feed, newest first, a page at a time (`fetchNextPage()` for infinite scroll):
 * the whole feed, or `{ tag }`, `{ category }` (slugs) or `{ author }` (id); `limit` per page.
 */
export function usePostsFeed(filter: FeedFilter = {}) {
  const client = useApiClient();
  return useInfiniteQuery({
    queryKey: queryKeys.feed(filter),
    queryFn: ({ pageParam }): Promise<PostPage> => client.posts.page({ ...filter, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: nextCursor,
    select: withItems<PostSummary, PostPage>,
  });
}

/** A post's comment thread in display order, a page at a time (`fetchNextPage()`). */
export function useComments(postId: string, filter: CommentsFilter = {}) {
  const client = useApiClient();
  return useInfiniteQuery({
    queryKey: queryKeys.comments(postId, filter),
    queryFn: ({ pageParam }): Promise<CommentPage> => client.comments.page(postId, { ...filter, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: nextCursor,
    select: withItems<Comment, CommentPage>,
  });
}

function useSetLike(liked: boolean) {
  const client = useApiClient();
  const queryClient = useQueryClient();
  return useMutation<LikeState, Error, string, () => void>({
    mutationKey: queryKeys.likes(),
    mutationFn: (postId) => (liked ? client.posts.like(postId) : client.posts.unlike(postId)),
    onMutate: (postId) => cacheRules.likeOptimistically(queryClient, postId, liked),
    onError: (_error, _postId, rollback) => rollback?.(),
    onSuccess: (state, postId) => cacheRules.likeConfirmed(queryClient, postId, state),
    onSettled: (_state, _error, postId) => cacheRules.likeSettled(queryClient, postId),
  });
}

/**
 * Likes a post: `mutate(postId)`. The post's `likeCount` (and `likedByMe`) change at once in
 * every cached place, and go back if the server refuses (a post no longer published: 404).
 */
export const useLikePost = () => useSetLike(true);

/** Removes the caller's like, with the same optimistic update and rollback as `useLikePost`. */
export const useUnlikePost = () => useSetLike(false);

/** Creates a draft (`mutate({ title, content })`), idempotent across the client's own retries. */
export function useCreatePost() {
  const client = useApiClient();
  const queryClient = useQueryClient();
  return useMutation<Post, Error, CreatePost>({
    mutationFn: (body) => client.posts.create(body),
    onSuccess: (post) => cacheRules.postSaved(queryClient, post),
  });
}

/**
 * Changes a post: `mutate({ post, changes })` with the post as read (its version goes as
 * `If-Match`). A stale one fails with `ProblemError` 412 `version_mismatch` and the post is read again.
 */
export function useUpdatePost() {
  const client = useApiClient();
  const queryClient = useQueryClient();
  return useMutation<Post, Error, { post: Versioned; changes: UpdatePost }>({
    mutationFn: ({ post, changes }) => client.posts.update(post, changes),
    onSuccess: (post) => cacheRules.postSaved(queryClient, post),
    onError: (error, { post }) => cacheRules.updateRefused(queryClient, post.id, error),
  });
}

/** Signs in (`mutate({ email, password })`); everything cached for the previous session goes. */
export function useSignIn() {
  const client = useApiClient();
  const queryClient = useQueryClient();
  return useMutation<void, Error, { email: string; password: string }>({
    mutationFn: async ({ email, password }) => {
      await client.auth.login(email, password);
    },
    onSuccess: () => cacheRules.sessionChanged(queryClient),
  });
}

/**
 * Signs out (`mutate()`): the session ends on the server, the tokens and the cache go. They go
 * even when the server call fails (a session already revoked, the network): `error` then says why.
 */
export function useSignOut() {
  const client = useApiClient();
  const queryClient = useQueryClient();
  return useMutation<void, Error, void>({
    mutationFn: () => client.auth.logout(),
    onSettled: () => cacheRules.sessionChanged(queryClient),
  });
}
