import { isDeepStrictEqual } from 'node:util';
import { isStaff } from '../identity/account.js';
import type { AuthUser } from '../identity/auth-user.js';
import { badRequest, conflict, forbidden, notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { effectiveStatus, isLive, type PostSummary } from './post.entity.js';

/**
 * The rules of a post's life, as functions of the post, the viewer and the time: which status
 * moves are allowed and what each sets, who may see a post and who may change it. The service
 * reads and saves; these decide (unit specs beside them).
 */

export type Viewer = Pick<AuthUser, 'userId' | 'role'>;
type Lifecycle = Pick<PostSummary, 'status' | 'publishedAt'>;

/** The moves of a post's status: publish (now or at `publishAt`), back to draft, archive. */
export type PostMove = { to: 'published'; publishAt?: string } | { to: 'draft' } | { to: 'archived' };

export const postNotFound = () => notFound(ErrorCode.PostNotFound, 'No such post.');

/**
 * What a move changes on the post, or its refusal. A draft or archived post can be published; a
 * scheduled one can be rescheduled; a live one cannot be published again (409). Unpublishing
 * takes it out of every feed (its `publishedAt` goes); a draft cannot be unpublished, nor an
 * archived post archived again.
 */
export function postTransition(post: Lifecycle, move: PostMove, now: Date): Partial<PostSummary> {
  switch (move.to) {
    case 'published': {
      const when = move.publishAt ? new Date(move.publishAt) : now;
      if (Number.isNaN(when.getTime())) throw badRequest(ErrorCode.ValidationFailed, 'publishAt is not a date.');
      if (effectiveStatus(post, now) === 'published')
        throw conflict(ErrorCode.InvalidTransition, 'The post is already published.');
      return { status: 'published', publishedAt: when.toISOString() };
    }
    case 'draft':
      if (post.status === 'draft') throw conflict(ErrorCode.InvalidTransition, 'The post is a draft already.');
      return { status: 'draft', publishedAt: undefined };
    case 'archived':
      if (post.status === 'archived') throw conflict(ErrorCode.InvalidTransition, 'The post is archived already.');
      return { status: 'archived' };
  }
}

/**
 * Whether an edit leaves the post as it was (session 22): every field of the summary but the save's
 * `updatedAt` the same (tags in their order), and the body. Every field, not a list of editable
 * ones, so that a field added to edits later is never taken for no change. Such an edit writes
 * nothing: no version raised, no `post.updated`.
 */
export function editChangesNothing(
  before: PostSummary & { content: string },
  after: PostSummary,
  content: string,
): boolean {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  fields.delete('content');
  fields.delete('updatedAt');
  const was = before as unknown as Record<string, unknown>;
  const is = after as unknown as Record<string, unknown>;
  return before.content === content && [...fields].every((field) => isDeepStrictEqual(was[field], is[field]));
}

/** Live posts are public; drafts, scheduled and archived posts only for their author and staff. */
export const canSeePost = (post: Lifecycle & Pick<PostSummary, 'authorId'>, viewer: Viewer | undefined, now: Date) =>
  isLive(post, now) || viewer?.userId === post.authorId || isStaff(viewer);

/**
 * Refuses a change of the post by this viewer: its author or an admin may change it (moderators
 * too when `allowModerators`: deletion). Someone who cannot even see it gets 404, so existence
 * does not leak; someone who can see it but not change it gets 403 `not_post_author`.
 */
export function assertMayManagePost(
  post: (Lifecycle & Pick<PostSummary, 'authorId'>) | undefined,
  viewer: Viewer,
  now: Date,
  allowModerators: boolean,
): void {
  if (!post || !canSeePost(post, viewer, now)) throw postNotFound();
  const allowed =
    post.authorId === viewer.userId || viewer.role === 'admin' || (allowModerators && viewer.role === 'moderator');
  if (!allowed) throw forbidden(ErrorCode.NotPostAuthor, 'Only the author or an admin may change this post.');
}
