/** Stored statuses. A published post whose `publishedAt` lies ahead is shown as `scheduled`. */
export const STORED_POST_STATUSES = ['draft', 'published', 'archived'] as const;
export type StoredPostStatus = (typeof STORED_POST_STATUSES)[number];

/** Statuses as the API shows them. */
export const POST_STATUSES = ['draft', 'scheduled', 'published', 'archived'] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

/** The post summary item (`PK=POST#<id>`, `SK=POST`): everything feeds need. */
export interface PostSummary {
  id: string;
  authorId: string;
  title: string;
  slug: string;
  excerpt: string;
  featuredImageUrl?: string;
  categoryId?: string;
  tagIds: string[];
  status: StoredPostStatus;
  publishedAt?: string;
  viewCount: number;
  likeCount: number;
  commentCount: number;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** The author's display data (src/users/author-display.ts); absent on posts from before it. */
  authorUsername?: string;
  authorName?: string;
  authorVersion?: number;
}

/**
 * Every attribute of a stored summary besides its keys, as the type declares them (the compiler
 * refuses a field of `PostSummary` missing here): what a feed Query asks DynamoDB for
 * (`SUMMARY_PROJECTION`) and what a tag's or category's link copies (post-links.ts).
 */
export const SUMMARY_ATTRIBUTES = Object.keys({
  id: 0,
  authorId: 0,
  title: 0,
  slug: 0,
  excerpt: 0,
  featuredImageUrl: 0,
  categoryId: 0,
  tagIds: 0,
  status: 0,
  publishedAt: 0,
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: 0,
  updatedAt: 0,
  version: 0,
  authorUsername: 0,
  authorName: 0,
  authorVersion: 0,
} satisfies Record<keyof PostSummary, 0>) as readonly (keyof PostSummary)[];

/** The whole post: summary plus content (`SK=POST#CONTENT`). */
export interface Post extends PostSummary {
  content: string;
}

/** What the API calls the status now: `scheduled` until `publishedAt` has come. */
export function effectiveStatus(post: Pick<PostSummary, 'status' | 'publishedAt'>, now: Date): PostStatus {
  if (post.status === 'published' && post.publishedAt && post.publishedAt > isoOf(now)) return 'scheduled';
  return post.status;
}

// A list page asks this of every post (twice: the filter, the mapper) with the same `now`, and
// `toISOString` costs about 1.5 us: the last instant's string is kept (by value: a Date is mutable).
let lastTime = Number.NaN;
let lastIso = '';
function isoOf(now: Date): string {
  const time = now.getTime();
  if (time !== lastTime) {
    lastIso = now.toISOString();
    lastTime = time;
  }
  return lastIso;
}

/** Visible to everyone: published and its time has come. */
export const isLive = (post: Pick<PostSummary, 'status' | 'publishedAt'>, now: Date): boolean =>
  effectiveStatus(post, now) === 'published';

/** A list of posts an offset can skip in: all published, an author's, a tag's, a user's likes. */
export type PostList = Record<string, never> | { authorId: string } | { tagId: string } | { likedBy: string };

/** What a skip passed: how many entries, and the cursor after them (null at the end of the list). */
export interface SkippedEntries {
  skipped: number;
  nextCursor: string | null;
}
