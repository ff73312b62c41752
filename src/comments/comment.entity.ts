export const COMMENT_STATUSES = ['pending', 'approved', 'spam', 'rejected'] as const;
export type CommentStatus = (typeof COMMENT_STATUSES)[number];

/** A comment: `PK=POST#<postId>`, `SK=COMMENT#<path>`. */
export interface Comment {
  id: string;
  postId: string;
  /** `<createdAt>#<id>` segments from the root, joined by `/`: sorts in display order. */
  path: string;
  parentId?: string;
  depth: number;
  /** Absent on a deleted comment kept as a tombstone. */
  authorId?: string;
  content?: string;
  status: CommentStatus;
  deleted: boolean;
  likeCount: number;
  /**
   * Replies attached to this comment, changed in the same transaction as each reply: a delete
   * conditioned on zero cannot race a new reply into an orphan. Absent on comments from before it.
   */
  replyCount?: number;
  /**
   * This reply is counted in its parent's pointer's `replyCount` (`CMTID#<postId>#<parentId>`), not
   * on the parent: it was made while the post was hot on the instance (issue 15, review 13 M-b1),
   * so it wrote nothing in the post's partition but itself. Its deletion takes it off there.
   */
  countedOnParentPointer?: boolean;
  createdAt: string;
  updatedAt: string;
  editedAt?: string;
  version: number;
  /** The author's display data (src/users/author-display.ts); absent on tombstones and older comments. */
  authorUsername?: string;
  authorName?: string;
  authorVersion?: number;
}

/** Counted in the post's `commentCount`. */
export const isCounted = (comment: Pick<Comment, 'status' | 'deleted'>): boolean =>
  comment.status === 'approved' && !comment.deleted;

export const pathSegment = (createdAt: string, id: string): string => `${createdAt}#${id}`;
