import type { CommentsQuery, FeedQuery } from '@publishing-api/client';

/** What a feed shows: the whole published feed, or one tag's, category's (slugs) or author's (id). */
export type FeedFilter = Omit<FeedQuery, 'cursor'>;
export type CommentsFilter = Omit<CommentsQuery, 'cursor'>;

const all = ['publishing-api'] as const;

/**
 * Every query key of the hooks, and only here. They nest so that one prefix reaches a family:
 * `posts()` holds every cached post, single (`post`, `postBySlug`) or in feed pages (`feeds()`),
 * which is what a like patches and what a sign-in resets. The rules that use them are in
 * `cacheRules.ts`, next to this file.
 */
export const queryKeys = {
  all,
  currentUser: () => [...all, 'me'] as const,
  posts: () => [...all, 'posts'] as const,
  post: (id: string) => [...all, 'posts', 'id', id] as const,
  postBySlug: (slug: string) => [...all, 'posts', 'slug', slug] as const,
  feeds: () => [...all, 'posts', 'feed'] as const,
  feed: (filter: FeedFilter = {}) => [...all, 'posts', 'feed', filter] as const,
  comments: (postId: string, filter: CommentsFilter = {}) => [...all, 'comments', postId, filter] as const,
  /**
   * Mutation keys (not queries): every like and unlike carries `likes()`, and its post id is the
   * mutation's variables; `cacheRules.likesInFlight` counts those of one post.
   */
  likes: () => [...all, 'likes'] as const,
};
