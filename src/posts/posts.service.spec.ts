import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { SequentialIds } from '../common/ids.js';
import type { SlugService } from '../slugs/slug.service.js';
import { fakeSlugService } from '../slugs/slug-service.testing.js';
import type { AppConfig } from '../config/app-config.js';
import type { RateCheck, RateLimiter } from '../dynamo/rate-limiter.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import type { AuthUser } from '../identity/auth-user.js';
import type { PostTaxonomyReads } from '../taxonomy/post-taxonomy-reads.js';
import type { Post, PostSummary } from './post.entity.js';
import type { PostsRepository } from './posts.repository.js';
import { PostsService } from './posts.service.js';
import { PostWriteHeat } from './like-heat.js';

const NOW = '2026-05-15T12:00:00.000Z';
const EARLIER = '2026-05-15T11:00:00.000Z';
const LATER = '2026-05-16T09:00:00.000Z';

const viewer = (userId: string, role: AuthUser['role'] = 'user'): AuthUser => ({
  userId,
  sessionId: 's',
  role,
  status: 'active',
  email: `${userId}@example.com`,
  emailVerified: true,
});

const stored = (overrides: Partial<Post> = {}): Post => ({
  id: 'p1',
  authorId: 'author',
  title: 'Title',
  slug: 'title',
  excerpt: 'body',
  content: 'body',
  tagIds: [],
  status: 'draft',
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: EARLIER,
  updatedAt: EARLIER,
  version: 4,
  ...overrides,
});

const PUBLISH_RULE = { name: 'publish-author', max: 30, windowSeconds: 3600 };

/** The collaborators faked: one stored post, known tags and categories, slug operations as labels. */
function setUp(
  post: Post | undefined = stored(),
  known: { tags?: string[]; categories?: string[] } = {},
  config: Partial<AppConfig> = {},
) {
  const posts = {
    findById: jest.fn((_id: string, _viewerId?: string) =>
      Promise.resolve(post ? { post, likedByViewer: false } : undefined),
    ),
    create: jest.fn((_post: Post, _claim: TransactOperation, _idempotency: unknown) => Promise.resolve()),
    save: jest.fn(
      (_before: PostSummary, _after: PostSummary, _content: string | undefined, _extra?: TransactOperation[]) =>
        Promise.resolve(),
    ),
    delete: jest.fn((_before: PostSummary, _now: Date, _release: TransactOperation) => Promise.resolve()),
    findForCounting: jest.fn((_id: string) =>
      Promise.resolve(post ? { summary: post, counts: { viewCount: 0, likeCount: 2, commentCount: 0 } } : undefined),
    ),
    addLike: jest.fn((_postId: string, _userId: string, _at: string, _gone: unknown, _onPost?: boolean) =>
      Promise.resolve(true),
    ),
    removeLike: jest.fn((_postId: string, _userId: string, _gone: unknown, _onPostFirst?: boolean) =>
      Promise.resolve(true),
    ),
    addView: jest.fn((_read: unknown, _viewer: string, _now: Date, _period: number, _shards: number) =>
      Promise.resolve(1),
    ),
    idempotencyOperation: jest.fn(() => ({ item: {} })),
  };
  const taxonomy = {
    unknownTagIds: jest.fn((ids: readonly string[]) => Promise.resolve(ids.filter((id) => !known.tags?.includes(id)))),
    categoryExists: jest.fn((id: string) => Promise.resolve(known.categories?.includes(id) ?? false)),
  };
  const slugs = fakeSlugService();
  const limiter = {
    consume: jest.fn((_checks: RateCheck[], _code?: string) => Promise.resolve()),
    countOnCommit: jest.fn((_check: RateCheck, _code: string) => ({ item: { Update: {} } })),
  };
  const clock = new SettableClock().set(NOW);
  const appConfig = {
    auth: { jwtSecret: 'unit-spec-secret-unit-spec-secret' },
    rateLimits: { publishPerAuthor: PUBLISH_RULE },
    viewCounterShards: 32,
    viewReadCacheSeconds: 0,
    viewRatePerClient: { name: 'view-client', max: 300, windowSeconds: 3600 },
    likeDirectMaxPerSecond: 10,
    commentDirectMaxPerSecond: 5,
    ...config,
  } as AppConfig;
  const heat = new PostWriteHeat(appConfig);
  const service = new PostsService(
    posts as unknown as PostsRepository,
    taxonomy as unknown as PostTaxonomyReads,
    slugs as unknown as SlugService,
    clock,
    new SequentialIds('post'),
    appConfig,
    limiter as unknown as RateLimiter,
    heat,
  );
  return { service, posts, taxonomy, slugs, limiter, clock, heat };
}

describe('PostsService.create', () => {
  it('writes a draft with the next id, the clock, the derived excerpt and the slug claim', async () => {
    const { service, posts } = setUp();
    const { post, replayed } = await service.create(viewer('me'), { title: 'Hello World', content: '# Hi *there*' });
    expect(replayed).toBe(false);
    expect(post).toMatchObject({
      id: 'post00000000000000001',
      authorId: 'me',
      slug: 'hello-world',
      excerpt: 'Hi there',
      status: 'draft',
      createdAt: NOW,
      updatedAt: NOW,
      version: 1,
    });
    expect(post.publishedAt).toBeUndefined();
    // A draft is not a publication: no count (the empty part), no idempotency record.
    expect(posts.create.mock.calls).toEqual([[post, 'claim post hello-world post00000000000000001', [], []]]);
  });

  it('publishNow publishes in the creating write, at the clock', async () => {
    const { service } = setUp();
    const { post } = await service.create(viewer('me'), { title: 'T', content: 'c' }, undefined, { publishNow: true });
    expect([post.status, post.publishedAt]).toEqual(['published', NOW]);
  });

  it('unknown tags or category: 422 naming them, nothing written', async () => {
    const { service, posts } = setUp(undefined, { tags: ['t1'], categories: ['c1'] });
    expect(
      await refusalOf(() => service.create(viewer('me'), { title: 'T', content: 'c', tagIds: ['t1', 't2'] })),
    ).toBe('422 tag_not_found');
    expect(await refusalOf(() => service.create(viewer('me'), { title: 'T', content: 'c', categoryId: 'c2' }))).toBe(
      '422 category_not_found',
    );
    expect(posts.create).not.toHaveBeenCalled();
  });

  it('a malformed Idempotency-Key: 400 bad_request, nothing written', async () => {
    const { service, posts } = setUp();
    expect(await refusalOf(() => service.create(viewer('me'), { title: 'T', content: 'c' }, 'has space'))).toBe(
      '400 bad_request',
    );
    expect(posts.create).not.toHaveBeenCalled();
  });
});

describe('PostsService transitions', () => {
  it('publish: saves the post as published at the clock (or at publishAt), updatedAt the clock', async () => {
    const { service, posts } = setUp();
    await service.publish('p1', viewer('author'));
    const { content: _content, ...before } = stored();
    expect(posts.save.mock.calls[0]).toEqual([
      before,
      { ...before, status: 'published', publishedAt: NOW, updatedAt: NOW },
      undefined,
      { item: { Update: {} } }, // the publication's count, in the same transaction
    ]);
    await service.publish('p1', viewer('author'), LATER);
    expect(posts.save.mock.calls[1][1]).toMatchObject({ status: 'published', publishedAt: '2026-05-16T09:00:00.000Z' });
  });

  it('publishing a live post: 409 invalid_transition, nothing saved', async () => {
    const { service, posts } = setUp(stored({ status: 'published', publishedAt: EARLIER }));
    expect(await refusalOf(() => service.publish('p1', viewer('author')))).toBe('409 invalid_transition');
    expect(posts.save).not.toHaveBeenCalled();
  });

  it('unpublish and archive save the moved status; a draft cannot be unpublished', async () => {
    const { service, posts } = setUp(stored({ status: 'published', publishedAt: EARLIER }));
    await service.unpublish('p1', viewer('author'));
    expect(posts.save.mock.calls[0][1]).toMatchObject({ status: 'draft', publishedAt: undefined });
    await service.archive('p1', viewer('author', 'admin'));
    expect(posts.save.mock.calls[1][1]).toMatchObject({ status: 'archived', publishedAt: EARLIER });
    const { service: draft } = setUp();
    expect(await refusalOf(() => draft.unpublish('p1', viewer('author')))).toBe('409 invalid_transition');
  });

  it("counts each publication by the post's author in its own transaction (too_many_publishes), never a withdrawal", async () => {
    const { service, limiter, posts } = setUp();
    await service.publish('p1', viewer('author'));
    expect(limiter.countOnCommit.mock.calls).toEqual([
      [{ rule: PUBLISH_RULE, subject: 'author' }, 'too_many_publishes'],
    ]);
    // The count is a part of the save's transaction (review 3, #2): a lost race counts nothing.
    expect(posts.save.mock.calls[0][3]).toEqual({ item: { Update: {} } });
    expect(limiter.consume).not.toHaveBeenCalled();
    // Withdrawals are neither counted nor refused, the author's own included.
    const { service: live, limiter: liveLimiter } = setUp(stored({ status: 'published', publishedAt: EARLIER }));
    await live.archive('p1', viewer('author'));
    await live.unpublish('p1', viewer('author'));
    expect(liveLimiter.countOnCommit).not.toHaveBeenCalled();
    // An admin publishing someone's post is not counted either.
    const { service: moderated, limiter: staffLimiter } = setUp();
    await moderated.publish('p1', viewer('admin', 'admin'));
    expect(staffLimiter.countOnCommit).not.toHaveBeenCalled();
    // Archiving a draft leaves the feeds alone: not counted.
    const { service: draft, limiter: draftLimiter } = setUp();
    await draft.archive('p1', viewer('author'));
    expect(draftLimiter.countOnCommit).not.toHaveBeenCalled();
  });

  it('counts a reschedule of a scheduled post (a new place in every timeline), not the same time again (review 4, #1)', async () => {
    const scheduledAt = '2030-01-01T00:00:00.000Z';
    const { service, limiter } = setUp(stored({ status: 'published', publishedAt: scheduledAt }));
    await service.publish('p1', viewer('author'), '2030-01-02T00:00:00.000Z');
    expect(limiter.countOnCommit).toHaveBeenCalledTimes(1);
    const { service: same, limiter: sameLimiter } = setUp(stored({ status: 'published', publishedAt: scheduledAt }));
    await same.publish('p1', viewer('author'), scheduledAt);
    expect(sameLimiter.countOnCommit).not.toHaveBeenCalled();
  });

  it('another user: 404 for a draft they cannot see, 403 not_post_author for a live post; a moderator may not edit', async () => {
    const { service, posts } = setUp();
    expect(await refusalOf(() => service.publish('p1', viewer('other')))).toBe('404 post_not_found');
    const { service: live } = setUp(stored({ status: 'published', publishedAt: EARLIER }));
    expect(await refusalOf(() => live.archive('p1', viewer('other')))).toBe('403 not_post_author');
    expect(await refusalOf(() => live.archive('p1', viewer('mod', 'moderator')))).toBe('403 not_post_author');
    expect(posts.save).not.toHaveBeenCalled();
  });
});

describe('PostsService.update and delete', () => {
  it('a slug change releases the old slug and claims the new one in the same save', async () => {
    const { service, posts } = setUp();
    await service.update('p1', viewer('author'), { slug: 'renamed' }, 4);
    expect(posts.save.mock.calls[0][3]).toEqual(['release post title p1', 'claim post renamed p1']);
    expect(posts.save.mock.calls[0][1]).toMatchObject({ slug: 'renamed', updatedAt: NOW });
  });

  it('an edit that changes nothing (`{}`, or the same values) saves nothing and answers the post (session 22)', async () => {
    const { service, posts, taxonomy } = setUp(stored({ tagIds: ['t1'], status: 'published', publishedAt: EARLIER }));
    const { post } = await service.update('p1', viewer('author'), {}, 4);
    expect(post).toMatchObject({ version: 4, updatedAt: EARLIER });
    await service.update('p1', viewer('author'), { title: 'Title', slug: 'title', content: 'body', tagIds: ['t1'] });
    expect(posts.save).toHaveBeenCalledTimes(0);
    expect(taxonomy.unknownTagIds).toHaveBeenCalledWith([]);
    // The If-Match is still checked: a stale one is 412, as for any edit.
    expect(await refusalOf(() => service.update('p1', viewer('author'), {}, 3))).toBe('412 version_mismatch');
    // One field changed is an edit.
    await service.update('p1', viewer('author'), { title: 'Title', content: 'new body' }, 4);
    expect(posts.save).toHaveBeenCalledTimes(1);
  });

  it('a stale If-Match: 412 version_mismatch, nothing saved', async () => {
    const { service, posts } = setUp();
    expect(await refusalOf(() => service.update('p1', viewer('author'), { title: 'x' }, 3))).toBe(
      '412 version_mismatch',
    );
    expect(posts.save).toHaveBeenCalledTimes(0);
  });

  it('a moderator may delete a live post (with its slug released, at the clock); another user may not', async () => {
    const { service, posts } = setUp(stored({ status: 'published', publishedAt: EARLIER }));
    expect(await refusalOf(() => service.delete('p1', viewer('other')))).toBe('403 not_post_author');
    await service.delete('p1', viewer('mod', 'moderator'));
    expect(posts.delete.mock.calls[0][1].toISOString()).toBe(NOW);
    expect(posts.delete.mock.calls[0][2]).toBe('release post title p1');
  });
});

describe('PostsService reads', () => {
  it('the feed filters by one of category, tag or author: 400 validation_failed for two', async () => {
    const { service } = setUp();
    expect(await refusalOf(() => service.feed({ tag: 'a', author: 'b' }, 20))).toBe('400 validation_failed');
  });

  it('likes only a live post (404 post_not_found otherwise); answers the count with this like', async () => {
    const { service: draft, posts: untouched } = setUp();
    expect(await refusalOf(() => draft.setLike('p1', viewer('me'), true))).toBe('404 post_not_found');
    expect(untouched.addLike).not.toHaveBeenCalled();
    const { service, posts } = setUp(stored({ status: 'published', publishedAt: EARLIER, likeCount: 1 }));
    expect(await service.setLike('p1', viewer('me'), true)).toEqual({ liked: true, likeCount: 4 });
    expect(posts.addLike.mock.calls[0].slice(0, 3)).toEqual(['p1', 'me', NOW]);
  });
});

describe('PostsService.setLike', () => {
  const live = () => stored({ status: 'published', publishedAt: EARLIER, likeCount: 1 });
  const liker = (n: number) => viewer(`u${n}`);

  it('counts a like on the post while this instance saw at most LIKE_DIRECT_MAX_PER_SECOND in the last second, then on its shard', async () => {
    const { service, posts, clock } = setUp(live(), {}, { likeDirectMaxPerSecond: 2 });
    for (const n of [1, 2, 3]) await service.setLike('p1', liker(n), true);
    await service.setLike('p1', liker(1), false);
    expect(posts.addLike.mock.calls.map((call) => call[4])).toEqual([true, true, false]);
    // The unlike's first guess: the shard, as the post is still hot.
    expect(posts.removeLike.mock.calls.map((call) => call[3])).toEqual([false]);
    clock.set(new Date(Date.parse(NOW) + 1000));
    await service.setLike('p1', liker(4), true);
    expect(posts.addLike.mock.calls[3][4]).toBe(true);
  });

  it('counts every like of a post hot for comments on this instance on its shard (review 13, M-b1)', async () => {
    const { service, posts, heat, clock } = setUp(live(), {}, { commentDirectMaxPerSecond: 2 });
    await service.setLike('p1', liker(1), true);
    for (let i = 0; i < 3; i++) heat.comment('p1', clock.now());
    await service.setLike('p1', liker(2), true);
    await service.setLike('p1', liker(2), false);
    expect(posts.addLike.mock.calls.map((call) => call[4])).toEqual([true, false]);
    expect(posts.removeLike.mock.calls.map((call) => call[3])).toEqual([false]);
    // A second later the post is quiet again: direct.
    clock.set(new Date(Date.parse(NOW) + 1000));
    await service.setLike('p1', liker(3), true);
    expect(posts.addLike.mock.calls[2][4]).toBe(true);
  });

  it("answers a remembered read with this instance's likes since counted (VIEW_READ_CACHE_SECONDS)", async () => {
    const { service, posts } = setUp(live(), {}, { viewReadCacheSeconds: 1 });
    expect((await service.setLike('p1', liker(1), true)).likeCount).toBe(4);
    expect((await service.setLike('p1', liker(2), true)).likeCount).toBe(5);
    expect((await service.setLike('p1', liker(2), false)).likeCount).toBe(4);
    expect(posts.findForCounting).toHaveBeenCalledTimes(1);
  });
});

describe('PostsService.addView', () => {
  const live = () => stored({ status: 'published', publishedAt: EARLIER });

  it('reads the post once per VIEW_READ_CACHE_SECONDS per instance while it is live, then again', async () => {
    const { service, posts, clock } = setUp(live(), {}, { viewReadCacheSeconds: 1 });
    await service.addView('p1', 'viewer-1', '192.0.2.1');
    await service.addView('p1', 'viewer-2', '192.0.2.1');
    expect(posts.findForCounting).toHaveBeenCalledTimes(1);
    expect(posts.addView.mock.calls.map((call) => [call[1], call[4]])).toEqual([
      ['viewer-1', 32],
      ['viewer-2', 32],
    ]);
    clock.set(new Date(Date.parse(NOW) + 1000));
    await service.addView('p1', 'viewer-3', '192.0.2.1');
    expect(posts.findForCounting).toHaveBeenCalledTimes(2);
  });

  it('sends no write for a viewer this instance counted within the hour, and counts it again after (review 19c, M1)', async () => {
    const { service, posts, clock } = setUp(live());
    expect(await service.addView('p1', 'viewer-1', '192.0.2.1')).toBe(1);
    expect(await service.addView('p1', 'viewer-1', '192.0.2.1')).toBe(0);
    await service.addView('p1', 'viewer-2', '192.0.2.1');
    expect(posts.addView.mock.calls.map((call) => call[1])).toEqual(['viewer-1', 'viewer-2']);
    clock.set(new Date(Date.parse(NOW) + 3600 * 1000));
    await service.addView('p1', 'viewer-1', '192.0.2.1');
    expect(posts.addView.mock.calls.map((call) => call[1])).toEqual(['viewer-1', 'viewer-2', 'viewer-1']);
  });

  it('reads on every view with the cache off, and never remembers a post that is not live', async () => {
    const off = setUp(live());
    await off.service.addView('p1', 'a', '192.0.2.1');
    await off.service.addView('p1', 'b', '192.0.2.1');
    expect(off.posts.findForCounting).toHaveBeenCalledTimes(2);

    const draft = setUp(stored(), {}, { viewReadCacheSeconds: 60 });
    for (const who of ['a', 'b'])
      expect(await refusalOf(() => draft.service.addView('p1', who, '192.0.2.1'))).toBe('404 post_not_found');
    expect(draft.posts.findForCounting).toHaveBeenCalledTimes(2);
    expect(draft.posts.addView).not.toHaveBeenCalled();
  });

  it('sends no write past the client budget (VIEW_RATE_MAX_PER_CLIENT), answering the count as read, and counts again in the next window', async () => {
    const rule = { name: 'view-client', max: 2, windowSeconds: 3600 };
    const { service, posts, clock } = setUp(live(), {}, { viewRatePerClient: rule });
    expect(await service.addView('p1', 'viewer-1', '192.0.2.1')).toBe(1);
    expect(await service.addView('p1', 'viewer-2', '192.0.2.1')).toBe(1);
    // A third viewer from the same client, signed in or not: served, not counted.
    expect(await service.addView('p1', 'viewer-3', '192.0.2.1')).toBe(0);
    expect(await service.addView('p1', 'viewer-4', '192.0.2.9')).toBe(1);
    expect(posts.addView.mock.calls.map((call) => call[1])).toEqual(['viewer-1', 'viewer-2', 'viewer-4']);
    // A repeat this instance remembers takes nothing from the budget.
    expect(await service.addView('p1', 'viewer-4', '192.0.2.9')).toBe(0);
    expect(await service.addView('p1', 'viewer-5', '192.0.2.9')).toBe(1);
    clock.set(new Date(Date.parse(NOW) + 3600 * 1000));
    expect(await service.addView('p1', 'viewer-3', '192.0.2.1')).toBe(1);
    expect(posts.addView).toHaveBeenCalledTimes(5);
  });
});

describe('PostsService.withdrawScheduled (review 21a M3)', () => {
  const SINCE = '2026-05-15T11:30:00.000Z';
  const scheduled = stored({ status: 'published', publishedAt: LATER });

  function withdrawing(post: Post | undefined) {
    const set = setUp(post);
    const authorPostIdsAfter = jest.fn((_authorId: string, _after: string) => Promise.resolve(['p1']));
    const findSummaryWithCounts = jest.fn((_id: string) => Promise.resolve(post));
    Object.assign(set.posts, { authorPostIdsAfter, findSummaryWithCounts });
    return { ...set, authorPostIdsAfter };
  }

  it('takes a post scheduled at the change back to draft, as an unpublish does, found by the author and the time', async () => {
    const { service, posts, authorPostIdsAfter } = withdrawing(scheduled);
    expect(await service.withdrawScheduled('author', SINCE)).toBe(1);
    expect(authorPostIdsAfter.mock.calls).toEqual([['author', SINCE]]);
    expect(posts.save).toHaveBeenCalledTimes(1);
    const [before, after, content, ...parts] = posts.save.mock.calls[0];
    expect(before).toBe(scheduled);
    expect(after).toMatchObject({ status: 'draft', publishedAt: undefined, updatedAt: NOW, version: 4 });
    // Not the author's own request: no publication count, no content write.
    expect([content, parts]).toEqual([undefined, []]);
  });

  it.each([
    ['gone', undefined],
    ['a draft already (a second run)', stored({ status: 'draft' })],
    ['archived', stored({ status: 'archived', publishedAt: LATER })],
    ['out before the change', stored({ status: 'published', publishedAt: EARLIER })],
    [
      'changed since (rescheduled after a reactivation)',
      stored({ status: 'published', publishedAt: LATER, updatedAt: NOW }),
    ],
    ['someone else’s now', stored({ status: 'published', publishedAt: LATER, authorId: 'deleted-user' })],
  ])('leaves a post alone when it is %s', async (_case, post) => {
    const { service, posts } = withdrawing(post);
    expect(await service.withdrawScheduled('author', SINCE)).toBe(0);
    expect(posts.save).not.toHaveBeenCalled();
  });
});
