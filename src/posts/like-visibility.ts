import type { PostSummary } from './post.entity.js';

/**
 * Where a like sits in its user's likes index (GSI2, `LIKES#<userId>`), which is what the
 * favorites lists page through, what an offset skips and what `likedCount` counts:
 *
 * - the post is in the feeds (published, or scheduled): at `<max(likedAt, publishedAt)>#<postId>`.
 *   A like is made on a live post, so that is `<likedAt>#<postId>`; a like brought back by a
 *   republication sorts from the republication, and one of a post scheduled for later sorts at
 *   its time, so the lists' key condition (`<= <now>#~`) hides it until then and the count takes
 *   it off with one `Select: COUNT` Query of the entries after now, as the published lists do for
 *   scheduled posts: the post appears in the favorites and in the count at the same instant,
 *   without a write;
 * - otherwise (unpublished, archived, or a draft again): at `~#<likedAt>#<postId>`, above every
 *   time, so no list bound reaches it and it is not counted; it stays in the partition, so the
 *   personal-data export and an erasure still find it.
 *
 * The stream processor moves the likes of a post whose visibility changed (`LikeVisibilitySync`),
 * each move a transaction with the liker's `likedCount`.
 */
export const HIDDEN_LIKE_PREFIX = '~#';

type PostState = Pick<PostSummary, 'status' | 'publishedAt'>;

/** Whether a post's likes are placed by time and counted: it is in the feeds (published, or scheduled). */
export const placesLikes = (post: PostState | undefined): post is PostState & { publishedAt: string } =>
  post?.status === 'published' && post.publishedAt !== undefined;

/** The likes index sort key of a like, given its post's current state (undefined: deleted). */
export function likePosition(like: { likedAt: string; postId: string }, post: PostState | undefined): string {
  if (placesLikes(post)) {
    const from = post.publishedAt > like.likedAt ? post.publishedAt : like.likedAt;
    return `${from}#${like.postId}`;
  }
  return `${HIDDEN_LIKE_PREFIX}${like.likedAt}#${like.postId}`;
}

/** Whether a likes index position counts in `likedCount` (shown now or from its post's time). */
export const isCountedPosition = (position: string): boolean => !position.startsWith(HIDDEN_LIKE_PREFIX);
