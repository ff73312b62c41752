import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { preconditionFailed } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { SequentialIds } from '../common/ids.js';
import type { AppConfig } from '../config/app-config.js';
import type { AuthUser } from '../identity/auth-user.js';
import { PostWriteHeat } from '../posts/like-heat.js';
import type { PostSummary } from '../posts/post.entity.js';
import type { PostsRepository } from '../posts/posts.repository.js';
import type { Comment } from './comment.entity.js';
import type { CommentsRepository } from './comments.repository.js';
import { CommentsService } from './comments.service.js';

const NOW = '2026-05-15T12:00:00.000Z';
const EARLIER = '2026-05-15T11:00:00.000Z';

const viewer = (userId: string, overrides: Partial<AuthUser> = {}): AuthUser => ({
  userId,
  sessionId: 's',
  role: 'user',
  status: 'active',
  email: `${userId}@example.com`,
  emailVerified: true,
  ...overrides,
});
const moderator = viewer('mod', { role: 'moderator' });

const post = (overrides: Partial<PostSummary> = {}): PostSummary => ({
  id: 'p1',
  authorId: 'post-author',
  title: 't',
  slug: 't',
  excerpt: '',
  tagIds: [],
  status: 'published',
  publishedAt: EARLIER,
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: EARLIER,
  updatedAt: EARLIER,
  version: 1,
  ...overrides,
});
const comment = (overrides: Partial<Comment> = {}): Comment => ({
  id: 'c1',
  postId: 'p1',
  path: `${EARLIER}#c1`,
  depth: 1,
  authorId: 'commenter',
  content: 'hello',
  status: 'approved',
  deleted: false,
  likeCount: 0,
  createdAt: EARLIER,
  updatedAt: EARLIER,
  version: 2,
  ...overrides,
});

/** The repositories faked: the post and the comments it holds, and each write recorded. */
function setUp(
  options: {
    post?: PostSummary;
    comments?: Comment[];
    autoApprove?: 'all' | 'verified' | 'staff';
    commentDirectMaxPerSecond?: number;
  } = {},
) {
  const stored = new Map((options.comments ?? []).map((c) => [c.id, c]));
  const comments = {
    findById: jest.fn((_postId: string, id: string) => Promise.resolve(stored.get(id))),
    create: jest.fn((_comment: Comment, _parentId?: string, _hot?: boolean) => Promise.resolve()),
    save: jest.fn((_before: Comment, _after: Comment) => Promise.resolve()),
    delete: jest.fn((_before: Comment) => Promise.resolve()),
    hasReplies: jest.fn((_comment: Comment) => Promise.resolve(false)),
    addLike: jest.fn((_comment: Comment, _viewer: AuthUser, _at: string) => Promise.resolve(true)),
    removeLike: jest.fn((_comment: Comment, _userId: string, _seenBy?: { viewer: AuthUser; now: string }) =>
      Promise.resolve(true),
    ),
  };
  const found = 'post' in options ? options.post : post();
  const posts = { findSummary: jest.fn((_postId: string) => Promise.resolve(found)) };
  const config = {
    comments: { maxDepth: 2, autoApprove: options.autoApprove ?? 'verified' },
    commentDirectMaxPerSecond: options.commentDirectMaxPerSecond ?? 5,
  } as AppConfig;
  const clock = new SettableClock().set(NOW);
  const service = new CommentsService(
    comments as unknown as CommentsRepository,
    posts as unknown as PostsRepository,
    config,
    clock,
    new SequentialIds('cmt'),
    new PostWriteHeat({ likeDirectMaxPerSecond: 10, commentDirectMaxPerSecond: config.commentDirectMaxPerSecond }),
  );
  return { service, comments, posts, clock };
}

describe('CommentsService.create', () => {
  it('writes a top-level comment with the next id, the clock, and the policy’s status', async () => {
    const { service, comments } = setUp();
    const created = await service.create('p1', viewer('me'), 'hi');
    expect(created).toMatchObject({
      id: 'cmt000000000000000001',
      postId: 'p1',
      path: `${NOW}#cmt000000000000000001`,
      depth: 1,
      parentId: undefined,
      authorId: 'me',
      status: 'approved',
      createdAt: NOW,
      version: 1,
    });
    expect(comments.create.mock.calls).toEqual([[created, undefined, false]]);
  });

  it('counts on a comment shard once this instance saw more than COMMENT_DIRECT_MAX_PER_SECOND comments of the post in the last second (issue 15)', async () => {
    const { service, comments, clock } = setUp({ commentDirectMaxPerSecond: 2 });
    for (let i = 0; i < 4; i++) await service.create('p1', viewer(`u${i}`), 'hi');
    clock.advance(1001);
    await service.create('p1', viewer('later'), 'hi');
    // The first two on the counter item (in commentCount at once), the next two on shards, and a
    // second later the post is quiet again.
    expect(comments.create.mock.calls.map((call) => call[2])).toEqual([false, false, true, true, false]);
  });

  it('an unverified author’s comment waits (pending)', async () => {
    const { service } = setUp();
    expect((await service.create('p1', viewer('me', { emailVerified: false }), 'hi')).status).toBe('pending');
  });

  it('a post that is missing, a draft or scheduled: 404 post_not_found, nothing written', async () => {
    for (const found of [undefined, post({ status: 'draft' }), post({ publishedAt: '2026-05-16T00:00:00.000Z' })]) {
      const { service, comments } = setUp({ post: found });
      expect(await refusalOf(() => service.create('p1', viewer('me'), 'hi'))).toBe('404 post_not_found');
      expect(comments.create).not.toHaveBeenCalled();
    }
  });

  it("counts a hot post's reply on its parent's pointer (countedOnParentPointer), a quiet post's on the parent (review 13, M-b1)", async () => {
    const { service, comments } = setUp({ comments: [comment()], commentDirectMaxPerSecond: 1 });
    const quiet = await service.create('p1', viewer('u1'), 'first', 'c1');
    const hot = await service.create('p1', viewer('u2'), 'second', 'c1');
    const top = await service.create('p1', viewer('u3'), 'top level');
    expect([quiet.countedOnParentPointer, hot.countedOnParentPointer, top.countedOnParentPointer]).toEqual([
      undefined,
      true,
      undefined,
    ]);
    expect(comments.create.mock.calls.map((call) => call[2])).toEqual([false, true, true]);
  });

  it('a reply is placed under its parent; at the depth limit beside it', async () => {
    const root = comment();
    const reply = comment({ id: 'c2', path: `${EARLIER}#c1/${EARLIER}#c2`, depth: 2 });
    const { service, comments } = setUp({ comments: [root, reply] });
    const first = await service.create('p1', viewer('me'), 'hi', 'c1');
    expect([first.depth, first.parentId]).toEqual([2, 'c1']);
    const second = await service.create('p1', viewer('me'), 'hi', 'c2');
    expect([second.depth, second.parentId, second.path]).toEqual([2, 'c1', `${EARLIER}#c1/${NOW}#${second.id}`]);
    expect(comments.create.mock.calls.map((call) => call[1])).toEqual(['c1', 'c2']);
  });

  it('a missing, deleted or invisible parent: 422 unknown_parent_comment, nothing written', async () => {
    const { service, comments } = setUp({
      comments: [comment({ id: 'gone', deleted: true }), comment({ id: 'hidden', status: 'pending' })],
    });
    for (const parentId of ['none', 'gone', 'hidden']) {
      expect(await refusalOf(() => service.create('p1', viewer('me'), 'hi', parentId))).toBe(
        '422 unknown_parent_comment',
      );
    }
    expect(comments.create).not.toHaveBeenCalled();
  });
});

describe('CommentsService.edit', () => {
  it('the author edits: content, editedAt and updatedAt at the clock', async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    await service.edit('p1', 'c1', viewer('commenter'), 'new', 2);
    expect(comments.save.mock.calls).toEqual([
      [comment(), { ...comment(), content: 'new', editedAt: NOW, updatedAt: NOW }],
    ]);
  });

  it('someone else, even staff: 403 not_comment_author; a stale If-Match: 412 version_mismatch', async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    expect(await refusalOf(() => service.edit('p1', 'c1', moderator, 'x'))).toBe('403 not_comment_author');
    expect(await refusalOf(() => service.edit('p1', 'c1', viewer('commenter'), 'x', 1))).toBe('412 version_mismatch');
    expect(comments.save).not.toHaveBeenCalled();
  });

  it('a comment the viewer cannot see: 404 comment_not_found', async () => {
    const { service } = setUp({ comments: [comment({ status: 'spam' })] });
    expect(await refusalOf(() => service.edit('p1', 'c1', viewer('stranger'), 'x'))).toBe('404 comment_not_found');
  });
});

describe('CommentsService.delete', () => {
  it('a comment without replies is deleted; the post is not read when authorship decides', async () => {
    const { service, comments, posts } = setUp({ comments: [comment()] });
    await service.delete('p1', 'c1', viewer('commenter'));
    expect(comments.delete.mock.calls).toEqual([[comment()]]);
    expect(posts.findSummary).not.toHaveBeenCalled();
  });

  it('a comment with replies stays as a tombstone without content or author', async () => {
    const { service, comments } = setUp({ comments: [comment({ replyCount: 1 })] });
    await service.delete('p1', 'c1', moderator);
    expect(comments.delete).not.toHaveBeenCalled();
    expect(comments.save.mock.calls[0][1]).toMatchObject({
      deleted: true,
      content: undefined,
      authorId: undefined,
      updatedAt: NOW,
    });
  });

  it("the post's author may delete; anyone else: 403 not_comment_author", async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    expect(await refusalOf(() => service.delete('p1', 'c1', viewer('stranger')))).toBe('403 not_comment_author');
    expect(comments.delete).not.toHaveBeenCalled();
    await service.delete('p1', 'c1', viewer('post-author'));
    expect(comments.delete).toHaveBeenCalledTimes(1);
  });

  it('when a reply or an edit got in first, reads again and decides again', async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    comments.delete.mockRejectedValueOnce(preconditionFailed(ErrorCode.VersionMismatch, 'changed'));
    const replied = comment({ replyCount: 1, version: 3 });
    comments.findById.mockResolvedValueOnce(comment()).mockResolvedValueOnce(replied);
    await service.delete('p1', 'c1', viewer('commenter'));
    expect(comments.delete).toHaveBeenCalledTimes(1);
    expect(comments.save.mock.calls[0][0]).toEqual(replied);
  });
});

describe('CommentsService.moderate', () => {
  it('staff set any status, at the clock; the same status writes nothing', async () => {
    const { service, comments } = setUp({ comments: [comment({ status: 'pending' })] });
    await service.moderate('p1', 'c1', 'spam', moderator);
    expect(comments.save.mock.calls[0][1]).toMatchObject({ status: 'spam', updatedAt: NOW });
    const { service: again, comments: untouched } = setUp({ comments: [comment()] });
    await again.moderate('p1', 'c1', 'approved', moderator);
    expect(untouched.save).not.toHaveBeenCalled();
  });

  it("the post's author may only hide an approved comment; others: 403 insufficient_role", async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    expect(await refusalOf(() => service.moderate('p1', 'c1', 'spam', viewer('post-author')))).toBe(
      '403 insufficient_role',
    );
    expect(await refusalOf(() => service.moderate('p1', 'c1', 'rejected', viewer('stranger')))).toBe(
      '403 insufficient_role',
    );
    expect(comments.save).not.toHaveBeenCalled();
    await service.moderate('p1', 'c1', 'rejected', viewer('post-author'));
    expect(comments.save.mock.calls[0][1]).toMatchObject({ status: 'rejected' });
  });

  it('a missing comment: 404 comment_not_found', async () => {
    const { service } = setUp();
    expect(await refusalOf(() => service.moderate('p1', 'nope', 'spam', moderator))).toBe('404 comment_not_found');
  });
});

describe('CommentsService.setLike', () => {
  it('likes an approved comment at the clock', async () => {
    const { service, comments } = setUp({ comments: [comment()] });
    await service.setLike('p1', 'c1', viewer('me'), true);
    expect(comments.addLike.mock.calls).toEqual([[comment(), viewer('me'), NOW]]);
  });

  it('a pending comment (even one’s own) or a tombstone cannot be liked: 404 comment_not_found', async () => {
    const { service, comments } = setUp({
      comments: [comment({ status: 'pending' }), comment({ id: 'c2', deleted: true })],
    });
    expect(await refusalOf(() => service.setLike('p1', 'c1', viewer('commenter'), true))).toBe('404 comment_not_found');
    expect(await refusalOf(() => service.setLike('p1', 'c2', viewer('me'), true))).toBe('404 comment_not_found');
    expect(comments.addLike).not.toHaveBeenCalled();
  });
});
