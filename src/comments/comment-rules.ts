import type { AuthUser } from '../identity/auth-user.js';
import { forbidden, notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppConfig } from '../config/app-config.js';
import { isStaff } from '../identity/account.js';
import { type Comment, type CommentStatus, isCounted, pathSegment } from './comment.entity.js';

/**
 * The rules of comments as functions: where a new comment goes in its thread, who sees one,
 * what status it starts in, what a post's author may do to it, and how it moves the post's
 * `commentCount`. The service reads and saves; these decide (unit specs beside them).
 */

type Viewer = Pick<AuthUser, 'userId' | 'role'>;

export const commentNotFound = () => notFound(ErrorCode.CommentNotFound, 'No such comment.');

/** Where a new comment sits: its path (thread order), its depth and the comment it is attached to. */
export interface CommentPlacement {
  path: string;
  depth: number;
  parentId?: string;
}

/**
 * A top-level comment starts a thread at depth 1. A reply goes under its parent; at the depth
 * limit it becomes a sibling of the parent instead (attached to the deepest allowed ancestor), so
 * a thread never grows deeper than `maxDepth`. Paths sort in display order: a parent before its
 * replies, replies by time.
 */
export function placeComment(
  parent: Pick<Comment, 'path' | 'depth'> | undefined,
  createdAt: string,
  id: string,
  maxDepth: number,
): CommentPlacement {
  const own = pathSegment(createdAt, id);
  if (!parent) return { path: own, depth: 1, parentId: undefined };
  const segments = parent.path.split('/');
  const base = parent.depth >= maxDepth ? segments.slice(0, -1) : segments;
  const depth = base.length + 1;
  return {
    path: [...base, own].join('/'),
    depth,
    parentId: depth > 1 ? base[base.length - 1].split('#')[1] : undefined,
  };
}

/** Approved comments and tombstones are public; others only for their author and staff. */
export const canSeeComment = (comment: Pick<Comment, 'status' | 'deleted' | 'authorId'>, viewer?: Viewer): boolean =>
  comment.status === 'approved' ||
  comment.deleted ||
  (viewer !== undefined && comment.authorId === viewer.userId) ||
  isStaff(viewer);

/** A parent a reply may attach to: one that exists, is not deleted, and that the replier may see. */
export const canReplyTo = (parent: Comment | undefined, viewer: Viewer): parent is Comment =>
  parent !== undefined && !parent.deleted && canSeeComment(parent, viewer);

/** The status a new comment starts in, by the `COMMENT_AUTO_APPROVE` policy: staff are always approved. */
export function initialCommentStatus(
  policy: AppConfig['comments']['autoApprove'],
  author: Pick<AuthUser, 'role' | 'emailVerified'>,
): CommentStatus {
  if (policy === 'all' || isStaff(author)) return 'approved';
  if (policy === 'verified' && author.emailVerified) return 'approved';
  return 'pending';
}

/**
 * What a post's author (not staff) may do to a comment on their post: hide (`rejected`) an
 * approved one, and nothing else, so an author cannot undo a moderator's decision or see
 * comments they could not see before. Staff set any status and are not asked here.
 */
export function assertPostAuthorMayModerate(
  comment: Comment,
  status: CommentStatus,
  viewer: Viewer,
  postAuthorId: string | undefined,
): void {
  if (postAuthorId !== viewer.userId) throw forbidden(ErrorCode.InsufficientRole, 'Your role does not allow this.');
  if (!canSeeComment(comment, viewer)) throw commentNotFound();
  if (status !== 'rejected' || comment.status !== 'approved' || comment.deleted) {
    throw forbidden(
      ErrorCode.InsufficientRole,
      "A post's author may only hide (reject) approved comments on the post; other changes are for moderators.",
    );
  }
}

/** How a comment's change moves its post's `commentCount`: only approved, undeleted comments count. */
export const commentCountDelta = (before: Comment | undefined, after: Comment | undefined): number =>
  (after && isCounted(after) ? 1 : 0) - (before && isCounted(before) ? 1 : 0);
