import { refusalOf } from '../common/errors/refusal.testing.js';
import type { Comment } from './comment.entity.js';
import {
  assertPostAuthorMayModerate,
  canReplyTo,
  canSeeComment,
  commentCountDelta,
  initialCommentStatus,
  placeComment,
} from './comment-rules.js';

const T1 = '2026-05-15T12:00:01.000Z';
const T2 = '2026-05-15T12:00:02.000Z';
const T3 = '2026-05-15T12:00:03.000Z';

function comment(overrides: Partial<Comment> = {}): Comment {
  return {
    id: 'c1',
    postId: 'p1',
    path: `${T1}#c1`,
    depth: 1,
    authorId: 'commenter',
    content: 'hello',
    status: 'approved',
    deleted: false,
    likeCount: 0,
    createdAt: T1,
    updatedAt: T1,
    version: 1,
    ...overrides,
  };
}

const user = (userId: string) => ({ userId, role: 'user' as const });
const moderator = { userId: 'mod', role: 'moderator' as const };
const admin = { userId: 'admin', role: 'admin' as const };

describe('placeComment: where a comment goes in its thread', () => {
  it('a top-level comment starts a thread at depth 1, attached to nothing', () => {
    expect(placeComment(undefined, T1, 'c1', 3)).toEqual({ path: `${T1}#c1`, depth: 1 });
  });

  it('a reply goes under its parent, one level deeper, attached to it', () => {
    const root = comment();
    expect(placeComment(root, T2, 'c2', 3)).toEqual({ path: `${T1}#c1/${T2}#c2`, depth: 2, parentId: 'c1' });
    const reply = comment({ id: 'c2', path: `${T1}#c1/${T2}#c2`, depth: 2 });
    expect(placeComment(reply, T3, 'c3', 3)).toEqual({
      path: `${T1}#c1/${T2}#c2/${T3}#c3`,
      depth: 3,
      parentId: 'c2',
    });
  });

  it('at the depth limit a reply becomes a sibling of its parent: attached to the deepest allowed ancestor', () => {
    const deepest = comment({ id: 'c3', path: `${T1}#c1/${T2}#c2/${T3}#c3`, depth: 3 });
    expect(placeComment(deepest, '2026-05-15T12:00:04.000Z', 'c4', 3)).toEqual({
      path: `${T1}#c1/${T2}#c2/2026-05-15T12:00:04.000Z#c4`,
      depth: 3,
      parentId: 'c2',
    });
  });

  it('with a depth limit of 1 every reply is a top-level comment', () => {
    expect(placeComment(comment(), T2, 'c2', 1)).toEqual({ path: `${T2}#c2`, depth: 1, parentId: undefined });
  });

  it('paths sort in display order: a parent, its replies by time, then the next thread', () => {
    const root = placeComment(undefined, T1, 'c1', 3);
    const later = placeComment(undefined, T3, 'c3', 3);
    const reply = placeComment({ path: root.path, depth: root.depth }, T2, 'c2', 3);
    const lateReply = placeComment({ path: root.path, depth: root.depth }, '2026-05-15T12:00:09.000Z', 'c9', 3);
    expect([later.path, lateReply.path, reply.path, root.path].sort()).toEqual([
      root.path,
      reply.path,
      lateReply.path,
      later.path,
    ]);
  });
});

describe('who sees a comment, and replies to it', () => {
  it('approved comments and tombstones are public', () => {
    expect(canSeeComment(comment(), undefined)).toBe(true);
    expect(canSeeComment(comment({ status: 'pending', deleted: true, authorId: undefined }), user('x'))).toBe(true);
  });

  it('pending, spam and rejected comments are for their author and staff only', () => {
    for (const status of ['pending', 'spam', 'rejected'] as const) {
      const hidden = comment({ status });
      expect(
        [undefined, user('stranger'), user('commenter'), moderator, admin].map((v) => canSeeComment(hidden, v)),
      ).toEqual([false, false, true, true, true]);
    }
  });

  it('a reply needs a parent that exists, is not deleted, and that the replier sees', () => {
    expect(canReplyTo(comment(), user('x'))).toBe(true);
    expect(canReplyTo(undefined, user('x'))).toBe(false);
    expect(canReplyTo(comment({ deleted: true }), admin)).toBe(false);
    expect(canReplyTo(comment({ status: 'pending' }), user('x'))).toBe(false);
    expect(canReplyTo(comment({ status: 'pending' }), user('commenter'))).toBe(true);
    expect(canReplyTo(comment({ status: 'spam' }), moderator)).toBe(true);
  });
});

describe('initialCommentStatus: COMMENT_AUTO_APPROVE', () => {
  const verified = { role: 'user' as const, emailVerified: true };
  const unverified = { role: 'user' as const, emailVerified: false };
  const staff = { role: 'moderator' as const, emailVerified: false };

  it('all: everyone approved', () => {
    expect([verified, unverified, staff].map((a) => initialCommentStatus('all', a))).toEqual([
      'approved',
      'approved',
      'approved',
    ]);
  });

  it('verified: verified emails and staff approved, others pending', () => {
    expect([verified, unverified, staff].map((a) => initialCommentStatus('verified', a))).toEqual([
      'approved',
      'pending',
      'approved',
    ]);
  });

  it('staff: only staff approved', () => {
    expect([verified, unverified, staff].map((a) => initialCommentStatus('staff', a))).toEqual([
      'pending',
      'pending',
      'approved',
    ]);
    expect(initialCommentStatus('staff', { role: 'admin', emailVerified: true })).toBe('approved');
  });
});

describe("assertPostAuthorMayModerate: what a post's author may do", () => {
  const author = user('post-author');

  it('hides (rejects) an approved comment on their post', async () => {
    expect(await refusalOf(() => assertPostAuthorMayModerate(comment(), 'rejected', author, 'post-author'))).toBe(
      'allowed',
    );
  });

  it('someone who is not the post author: 403 insufficient_role', async () => {
    expect(await refusalOf(() => assertPostAuthorMayModerate(comment(), 'rejected', user('x'), 'post-author'))).toBe(
      '403 insufficient_role',
    );
    expect(await refusalOf(() => assertPostAuthorMayModerate(comment(), 'rejected', author, undefined))).toBe(
      '403 insufficient_role',
    );
  });

  it('approve, spam or pending, or a comment not approved, or a tombstone: 403 insufficient_role', async () => {
    for (const status of ['approved', 'spam', 'pending'] as const) {
      expect(await refusalOf(() => assertPostAuthorMayModerate(comment(), status, author, 'post-author'))).toBe(
        '403 insufficient_role',
      );
    }
    expect(
      await refusalOf(() =>
        assertPostAuthorMayModerate(comment({ status: 'rejected' }), 'rejected', author, 'post-author'),
      ),
    ).toBe('404 comment_not_found');
    expect(
      await refusalOf(() => assertPostAuthorMayModerate(comment({ deleted: true }), 'rejected', author, 'post-author')),
    ).toBe('403 insufficient_role');
  });

  it('a comment the post author cannot see is 404 comment_not_found (it does not leak)', async () => {
    expect(
      await refusalOf(() =>
        assertPostAuthorMayModerate(comment({ status: 'pending' }), 'rejected', author, 'post-author'),
      ),
    ).toBe('404 comment_not_found');
  });
});

describe('commentCountDelta: the post commentCount', () => {
  const approved = comment();
  const pending = comment({ status: 'pending' });
  const tombstone = comment({ deleted: true });

  it('+1 when an approved comment appears or a comment is approved', () => {
    expect(commentCountDelta(undefined, approved)).toBe(1);
    expect(commentCountDelta(pending, approved)).toBe(1);
  });

  it('-1 when an approved comment is deleted, tombstoned, rejected or marked spam', () => {
    expect(commentCountDelta(approved, undefined)).toBe(-1);
    expect(commentCountDelta(approved, tombstone)).toBe(-1);
    expect(commentCountDelta(approved, comment({ status: 'rejected' }))).toBe(-1);
    expect(commentCountDelta(approved, comment({ status: 'spam' }))).toBe(-1);
  });

  it('0 for pending comments, edits of approved ones and tombstones', () => {
    expect(commentCountDelta(undefined, pending)).toBe(0);
    expect(commentCountDelta(pending, undefined)).toBe(0);
    expect(commentCountDelta(approved, { ...approved, content: 'edited' })).toBe(0);
    expect(commentCountDelta(tombstone, undefined)).toBe(0);
  });
});
