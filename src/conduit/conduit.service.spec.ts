import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { notFound, tooManyRequests, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { Page } from '../dynamo/pagination.js';
import { databaseBusy, databaseTimeout } from '../dynamo/dynamo-errors.js';
import { transactWrite } from '../dynamo/transactions.js';
import type { AuthUser } from '../identity/auth-user.js';
import type { PostSummary } from '../posts/post.entity.js';
import { ConduitService } from './conduit.service.js';

const viewer = { userId: 'reader-id', role: 'user' } as AuthUser;

const refusal429 = (code: 'too_many_new_tags' | 'too_many_publishes') =>
  tooManyRequests(code === 'too_many_new_tags' ? ErrorCode.TooManyNewTags : ErrorCode.TooManyPublishes, 'Slow.', 9);

/** What `transactWrite` throws for a transaction DynamoDB cancelled (a failed condition no part names). */
async function cancelledTransaction(): Promise<unknown> {
  const cancellation = Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
  });
  const client = { send: () => Promise.reject(cancellation) } as unknown as DynamoDBDocumentClient;
  const put = { Put: { TableName: 't', Item: { PK: 'X', SK: 'X' } } };
  return transactWrite(client, [{ item: put }]).catch((error: unknown) => error);
}

const summary = (id: string, overrides: Partial<PostSummary> = {}): PostSummary => ({
  id,
  authorId: 'author-id',
  authorUsername: 'author',
  title: `Title ${id}`,
  slug: `slug-${id}`,
  excerpt: `About ${id}`,
  tagIds: [],
  status: 'published',
  publishedAt: '2026-05-01T00:00:00.000Z',
  viewCount: 0,
  likeCount: 3,
  commentCount: 0,
  createdAt: '2026-05-01T00:00:00.000Z',
  updatedAt: '2026-05-02T00:00:00.000Z',
  version: 1,
  ...overrides,
});

/** A cursor listing of `total` posts, `limit` a call: what each call asked for is recorded. */
function listing(total: number) {
  const all = Array.from({ length: total }, (_, i) => summary(`p${i}`));
  return jest.fn((limit: number, cursor: string | undefined): Promise<Page<PostSummary>> => {
    const start = cursor ? Number(cursor) : 0;
    const end = Math.min(start + limit, total);
    return Promise.resolve({ items: all.slice(start, end), nextCursor: end < total ? String(end) : null });
  });
}

/**
 * A cursor listing of raw entries (index entries, feed places), some of them filtered on read:
 * `fetch` reads `limit` entries and returns the shown ones, `skip` passes `n` entries without
 * reading them, as the repositories do.
 */
function filteredListing(entries: number[], hidden: Set<number>) {
  const after = (start: number, n: number) => {
    const end = Math.min(start + n, entries.length);
    return { end, nextCursor: end < entries.length ? String(end) : null };
  };
  return {
    fetch: (limit: number, cursor: string | undefined): Promise<Page<PostSummary>> => {
      const start = cursor ? Number(cursor) : 0;
      const { end, nextCursor } = after(start, limit);
      const items = entries
        .slice(start, end)
        .filter((i) => !hidden.has(i))
        .map((i) => summary(`p${i}`));
      return Promise.resolve({ items, nextCursor });
    },
    skip: (n: number, cursor: string | undefined) => {
      const start = cursor ? Number(cursor) : 0;
      const { end, nextCursor } = after(start, n);
      return Promise.resolve({ skipped: end - start, nextCursor });
    },
  };
}

/** The native services faked at their class tokens; each method answers what the case needs. */
function fakes(config: { conduitPublicFavorites: boolean } = { conduitPublicFavorites: true }) {
  const giveBack = jest.fn(() => Promise.resolve());
  const posts = {
    feed: jest.fn((_filter: object, _limit: number, _cursor?: string) =>
      Promise.resolve({ items: [] as PostSummary[], nextCursor: null as string | null }),
    ),
    likedEntries: jest.fn((_userId: string, _limit: number, _cursor?: string) =>
      Promise.resolve({ items: [] as PostSummary[], nextCursor: null as string | null }),
    ),
    skip: jest.fn((_list: object, _n: number, _cursor?: string) =>
      Promise.resolve({ skipped: 0, nextCursor: null as string | null }),
    ),
    liveCount: jest.fn((_of?: { author?: string; tag?: { id: string; postCount: number } }) => Promise.resolve(0)),
    likedCount: jest.fn((_userId: string) => Promise.resolve(0)),
    contents: jest.fn((ids: string[]) => Promise.resolve(new Map(ids.map((id) => [id, `Body of ${id}`])))),
    likedAmong: jest.fn((_userId: string, _ids: string[]) => Promise.resolve(new Set<string>())),
    create: jest.fn((..._args: unknown[]): Promise<{ post: object }> => Promise.resolve({ post: summary('created') })),
    giveBack,
    takePublication: jest.fn((_author: unknown) => Promise.resolve({ giveBack })),
    countNewTags: jest.fn((_viewer: unknown, _newTags: number) => Promise.resolve()),
  };
  const users = {
    getOwn: jest.fn(() =>
      Promise.resolve({ user: { id: 'reader-id', email: 'reader@example.com', username: 'reader' }, profile: {} }),
    ),
    updateOwn: jest.fn(() => Promise.resolve(undefined)),
    getByUsername: jest.fn((_username: string): Promise<unknown> =>
      Promise.resolve({ user: { id: 'author-id', username: 'author' }, profile: { bio: 'Writes' } }),
    ),
    updateProfile: jest.fn(() => Promise.resolve(undefined)),
    idByUsername: jest.fn((_username: string): Promise<string | undefined> => Promise.resolve(undefined)),
    isPublic: jest.fn((_userId: string) => Promise.resolve(true)),
    profilesOf: jest.fn((_ids: string[]) =>
      Promise.resolve(new Map([['author-id', { bio: 'Writes', avatarUrl: undefined }]])),
    ),
  };
  const taxonomy = {
    tagBySlug: jest.fn((_slug: string): Promise<unknown> =>
      Promise.reject(notFound(ErrorCode.TagNotFound, 'No such tag.')),
    ),
    tagsByIds: jest.fn((_ids: string[]) => Promise.resolve([] as { id: string; name: string }[])),
    // Names starting "new-" are new tags: the hook hears how many, before they are "created".
    tagsNamed: jest.fn(async (names: string[], beforeCreating?: (newTags: number) => Promise<void>) => {
      const fresh = names.filter((name) => name.startsWith('new-')).length;
      if (fresh > 0 && beforeCreating) await beforeCreating(fresh);
      return names.map((name) => ({ id: `tag-${name}`, name }));
    }),
  };
  const follows = {
    followedAmong: jest.fn(() => Promise.resolve(new Set<string>(['author-id']))),
    follow: jest.fn((_readerId: string, _authorId: string) => Promise.resolve({ following: true, followerCount: 1 })),
    unfollow: jest.fn((_readerId: string, _authorId: string) =>
      Promise.resolve({ following: false, followerCount: 0 }),
    ),
    isFollowing: jest.fn((_readerId: string, _authorId: string) => Promise.resolve(false)),
  };
  const comments = { create: jest.fn() };
  const auth = { register: jest.fn() };
  const feed = {
    pageAtOffset: jest.fn((_readerId: string, _limit: number, _offset: number) =>
      Promise.resolve({ items: [] as PostSummary[], nextCursor: null as string | null }),
    ),
    count: jest.fn((_readerId: string) => Promise.resolve(0)),
  };
  const service = new ConduitService(
    auth as never,
    users as never,
    posts as never,
    comments as never,
    taxonomy as never,
    follows as never,
    feed as never,
    config as never,
  );
  return { service, posts, users, taxonomy, follows, comments, auth, feed };
}

describe('ConduitService: users', () => {
  it('register: RealWorld needs a username (422 on the field), where the native API derives one', async () => {
    const { service, auth } = fakes();
    expect(await refusalOf(() => service.register({ email: 'a@example.com', password: 'password-1234' }, {}))).toBe(
      '422 validation_failed',
    );
    expect(auth.register).not.toHaveBeenCalled();
  });

  it('update: the unchanged email (in any case) is a no-op; a new email or any password is 422 naming the native endpoint', async () => {
    const { service, users } = fakes();
    await service.updateUser(viewer, 'token', { email: 'Reader@Example.com' });
    expect(users.updateOwn).not.toHaveBeenCalled();
    expect(users.updateProfile).not.toHaveBeenCalled();
    expect(await refusalOf(() => service.updateUser(viewer, 'token', { email: 'other@example.com' }))).toBe(
      '422 validation_failed',
    );
    expect(await refusalOf(() => service.updateUser(viewer, 'token', { password: 'new-password-1234' }))).toBe(
      '422 validation_failed',
    );
    expect(users.updateOwn).not.toHaveBeenCalled();
  });

  it('update: a new username goes through the native rename, bio and image to the profile (image is the avatar)', async () => {
    const { service, users } = fakes();
    const answer = await service.updateUser(viewer, 'token', {
      username: 'renamed',
      bio: 'Hi',
      image: 'https://x.test/a.png',
    });
    expect(users.updateOwn.mock.calls).toEqual([['reader-id', { username: 'renamed' }, undefined]]);
    expect(users.updateProfile.mock.calls).toEqual([
      ['reader-id', { bio: 'Hi', avatarUrl: 'https://x.test/a.png' }, undefined],
    ]);
    expect(answer).toMatchObject({ email: 'reader@example.com', token: 'token' });
    // The same username again writes nothing.
    users.updateOwn.mockClear();
    await service.updateUser(viewer, 'token', { username: 'reader' });
    expect(users.updateOwn).not.toHaveBeenCalled();
  });
});

describe('ConduitService: follows', () => {
  it('unfollows a deactivated account as natively, answering its username only; following it is 404', async () => {
    const { service, users, follows } = fakes();
    users.idByUsername.mockResolvedValue('gone-id');
    // Its profile is hidden (404), as GET /api/profiles/:username answers.
    users.getByUsername.mockRejectedValue(notFound(ErrorCode.UserNotFound, 'No such user.'));
    expect(await service.setFollowing(viewer, 'gone', false)).toEqual({
      username: 'gone',
      bio: null,
      image: null,
      following: false,
    });
    expect(follows.unfollow.mock.calls).toEqual([['reader-id', 'gone-id']]);
    // Following it is refused by the native rule (404), before any profile is read.
    follows.follow.mockRejectedValueOnce(notFound(ErrorCode.UserNotFound, 'No such user.'));
    expect(await refusalOf(() => service.setFollowing(viewer, 'gone', true))).toBe('404 user_not_found');
    // Any other failure of the profile's read is the answer's.
    const timeout = databaseTimeout();
    users.getByUsername.mockRejectedValueOnce(timeout);
    await expect(service.setFollowing(viewer, 'gone', false)).rejects.toBe(timeout);
    // An active account: its profile, as before.
    users.getByUsername.mockResolvedValue({ user: { id: 'gone-id', username: 'gone' }, profile: { bio: 'Back' } });
    expect(await service.setFollowing(viewer, 'gone', false)).toEqual({
      username: 'gone',
      bio: 'Back',
      image: null,
      following: false,
    });
  });
});

describe('ConduitService: article lists', () => {
  it('filters by one of tag, author or favorited at a time (422 for two)', async () => {
    const { service, posts } = fakes();
    expect(await refusalOf(() => service.articles({ tag: 'a', author: 'b' }, undefined))).toBe('422 validation_failed');
    expect(posts.feed).not.toHaveBeenCalled();
  });

  it('an unknown tag or author is an empty list with articlesCount 0, not a 404', async () => {
    const { service, posts } = fakes();
    expect(await service.articles({ tag: 'nothing' }, undefined)).toEqual({ articles: [], articlesCount: 0 });
    expect(await service.articles({ author: 'nobody' }, undefined)).toEqual({ articles: [], articlesCount: 0 });
    expect(await service.articles({ favorited: 'nobody' }, undefined)).toEqual({ articles: [], articlesCount: 0 });
    expect(posts.feed).not.toHaveBeenCalled();
  });

  it("CONDUIT_PUBLIC_FAVORITES=off: ?favorited= lists the signed-in reader's own likes only (review 19a, L2)", async () => {
    const off = fakes({ conduitPublicFavorites: false });
    off.users.idByUsername.mockImplementation((name) => Promise.resolve(`${name}-id`));
    const empty = { articles: [], articlesCount: 0 };
    expect(await off.service.articles({ favorited: 'someone' }, undefined)).toEqual(empty);
    expect(await off.service.articles({ favorited: 'someone' }, viewer)).toEqual(empty);
    expect(off.posts.likedEntries).not.toHaveBeenCalled();
    expect(off.posts.likedCount).not.toHaveBeenCalled();
    // Anonymous: answered without a read; the reader's own account needs no status read (its session is live).
    expect(off.users.idByUsername.mock.calls).toEqual([['someone']]);
    off.posts.likedCount.mockResolvedValue(2);
    expect((await off.service.articles({ favorited: 'reader' }, viewer)).articlesCount).toBe(2);
    expect(off.posts.likedEntries.mock.calls[0][0]).toBe('reader-id');
    expect(off.users.isPublic).not.toHaveBeenCalled();
    // Other lists are not affected.
    await off.service.articles({ author: 'someone' }, undefined);
    expect(off.posts.feed.mock.calls[0][0]).toEqual({ author: 'someone-id' });

    const on = fakes();
    on.users.idByUsername.mockResolvedValue('someone-id');
    await on.service.articles({ favorited: 'someone' }, undefined);
    expect(on.posts.likedEntries.mock.calls[0][0]).toBe('someone-id');
  });

  it("a deactivated account's author and favorites lists are empty, as its profile is 404 (review 19a, L2)", async () => {
    const { service, posts, users } = fakes();
    users.idByUsername.mockResolvedValue('gone-id');
    users.isPublic.mockResolvedValue(false);
    posts.liveCount.mockResolvedValue(4);
    posts.likedCount.mockResolvedValue(2);
    posts.feed.mockResolvedValue({ items: [summary('p1', { authorId: 'gone-id' })], nextCursor: null });
    posts.likedEntries.mockResolvedValue({ items: [summary('p2')], nextCursor: null });
    const empty = { articles: [], articlesCount: 0 };
    expect(await service.articles({ author: 'gone' }, viewer)).toEqual(empty);
    expect(await service.articles({ favorited: 'gone' }, undefined)).toEqual(empty);
    expect(users.isPublic.mock.calls).toEqual([['gone-id'], ['gone-id']]);
    // Nothing of the page is read on (contents, profiles).
    expect(posts.contents).not.toHaveBeenCalled();
  });

  it("a tag's list counts from the tag's postCount (less its scheduled posts), whatever page is shown", async () => {
    const { service, posts, taxonomy } = fakes();
    taxonomy.tagBySlug.mockResolvedValue({ id: 'tag-1', slug: 'dragons', postCount: 42 });
    posts.feed.mockImplementation((_filter, limit, cursor) => listing(5)(limit, cursor));
    posts.liveCount.mockResolvedValue(40); // 2 of the 42 are scheduled
    const answer = await service.articles({ tag: 'Dragons', limit: 2 }, undefined);
    expect(answer.articlesCount).toBe(40);
    expect(posts.liveCount.mock.calls).toEqual([[{ tag: { id: 'tag-1', slug: 'dragons', postCount: 42 } }]]);
    expect(posts.feed.mock.calls[0][0]).toEqual({ tag: 'dragons' });
  });

  it('offset: skips the entries before it with count-only reads (no item), then reads the next `limit`', async () => {
    const { service, posts } = fakes();
    const source = listing(250);
    posts.feed.mockImplementation((_filter, limit, cursor) => source(limit, cursor));
    // DynamoDB's 1 MB page cuts the first skip short: the loop asks for the rest.
    posts.skip
      .mockResolvedValueOnce({ skipped: 150, nextCursor: '150' })
      .mockResolvedValueOnce({ skipped: 55, nextCursor: '205' });
    posts.liveCount.mockResolvedValue(250);
    const answer = await service.articles({ offset: 205, limit: 10 }, undefined);
    expect(answer.articles.map((article) => article.slug)).toEqual(
      Array.from({ length: 10 }, (_, i) => `slug-p${205 + i}`),
    );
    expect(posts.skip.mock.calls).toEqual([
      [{}, 205, undefined],
      [{}, 55, '150'],
    ]);
    // Only the page itself is read as items.
    expect(source.mock.calls).toEqual([[10, '205']]);
    // The table's published-post counter, not a count of what was read.
    expect(answer.articlesCount).toBe(250);
  });

  it("an author's and a favoriter's lists count from the user's counters, read beside the page", async () => {
    const { service, posts, users } = fakes();
    users.idByUsername.mockResolvedValue('someone-id');
    posts.liveCount.mockResolvedValue(7);
    posts.likedCount.mockResolvedValue(3);
    expect((await service.articles({ author: 'someone' }, undefined)).articlesCount).toBe(7);
    expect(posts.feed.mock.calls[0][0]).toEqual({ author: 'someone-id' });
    expect(posts.liveCount.mock.calls).toEqual([[{ author: 'someone-id' }]]);
    expect((await service.articles({ favorited: 'someone' }, undefined)).articlesCount).toBe(3);
    expect(posts.likedEntries.mock.calls[0][0]).toBe('someone-id');
    expect(posts.likedCount.mock.calls).toEqual([['someone-id']]);
  });

  it('offset: consecutive pages partition a list with filtered entries exactly (no repeat, no gap)', async () => {
    const { service, posts, users } = fakes();
    users.idByUsername.mockResolvedValue('fan-id');
    // 12 like entries; those of withdrawn or deleted posts (2, 3, 4, 7, 10) are filtered on read.
    const hidden = new Set([2, 3, 4, 7, 10]);
    const entries = Array.from({ length: 12 }, (_, i) => i);
    const source = filteredListing(entries, hidden);
    posts.likedEntries.mockImplementation((_userId, limit, cursor) => source.fetch(limit, cursor));
    posts.skip.mockImplementation((_list, n, cursor) => source.skip(n, cursor));
    for (const limit of [1, 2, 3, 5]) {
      const seen: string[] = [];
      for (let offset = 0; offset < entries.length; offset += limit) {
        const page = await service.articles({ favorited: 'fan', offset, limit }, undefined);
        seen.push(...page.articles.map((article) => article.slug));
      }
      expect(seen).toEqual(entries.filter((i) => !hidden.has(i)).map((i) => `slug-p${i}`));
    }
  });

  it('the feed: pages partition its places exactly, one feed read a page whatever the offset, the count is the counter', async () => {
    const { service, feed } = fakes();
    const hidden = new Set([0, 5, 6, 31, 32, 33, 40]);
    const entries = Array.from({ length: 75 }, (_, i) => i);
    const source = filteredListing(entries, hidden);
    // FeedService.pageAtOffset passes `offset` places and reads `limit` in one read of its sources.
    feed.pageAtOffset.mockImplementation(async (_readerId, limit, offset) => {
      const skipped = offset > 0 ? await source.skip(offset, undefined) : { skipped: 0, nextCursor: null };
      if (offset > 0 && !skipped.nextCursor) return { items: [], nextCursor: null };
      return source.fetch(limit, skipped.nextCursor ?? undefined);
    });
    feed.count.mockResolvedValue(68);
    for (const limit of [2, 7, 50]) {
      const seen: string[] = [];
      for (let offset = 0; offset < entries.length; offset += limit) {
        const page = await service.feedArticles(viewer, { offset, limit });
        seen.push(...page.articles.map((article) => article.slug));
        expect(page.articlesCount).toBe(68);
      }
      expect(seen).toEqual(entries.filter((i) => !hidden.has(i)).map((i) => `slug-p${i}`));
    }
    expect(feed.count.mock.calls[0]).toEqual([viewer.userId]);
    // One read a request, with the request's limit and offset (review 19a M5: the skip and the
    // page went in rounds, each querying every fan-in author again).
    expect(feed.pageAtOffset.mock.calls.length).toBe(feed.count.mock.calls.length);
    expect(feed.pageAtOffset.mock.calls.at(-1)).toEqual([viewer.userId, 50, 50]);
  });

  it('an offset past the end is an empty page, with the count of the whole list', async () => {
    const { service, posts } = fakes();
    posts.skip.mockResolvedValue({ skipped: 30, nextCursor: null });
    posts.liveCount.mockResolvedValue(30);
    expect(await service.articles({ offset: 40 }, undefined)).toEqual({ articles: [], articlesCount: 30 });
  });

  it('maps a post to an article: description, body, sorted tag names, favorites, the author as a profile', async () => {
    const { service, posts, taxonomy } = fakes();
    posts.feed.mockResolvedValue({
      items: [summary('p1', { tagIds: ['t-z', 't-a'], authorUsername: undefined })],
      nextCursor: null,
    });
    taxonomy.tagsByIds.mockResolvedValue([
      { id: 't-z', name: 'zebra' },
      { id: 't-a', name: 'aardvark' },
    ]);
    posts.likedAmong.mockResolvedValue(new Set(['p1']));
    const [article] = (await service.articles({}, viewer)).articles;
    expect(article).toEqual({
      slug: 'slug-p1',
      title: 'Title p1',
      description: 'About p1',
      body: 'Body of p1',
      tagList: ['aardvark', 'zebra'],
      createdAt: '2026-05-01T00:00:00.000Z',
      updatedAt: '2026-05-02T00:00:00.000Z',
      favorited: true,
      favoritesCount: 3,
      // No username copied on the post (not yet fanned out): the id stands in.
      author: { username: 'author-id', bio: 'Writes', image: null, following: true },
    });
  });

  it('never shows favoritesCount below 0, as the native likeCount (a count read below 0: review 13, L-b3)', async () => {
    const { service, posts } = fakes();
    posts.feed.mockResolvedValue({ items: [summary('p1', { likeCount: -2 })], nextCursor: null });
    const [article] = (await service.articles({}, viewer)).articles;
    expect(article.favoritesCount).toBe(0);
  });
});

describe('ConduitService: writes', () => {
  it('creates an article published at once, with its tag names found or created', async () => {
    const { service, posts, taxonomy } = fakes();
    posts.create.mockResolvedValue({ post: { ...summary('new'), content: 'Body', tagIds: ['tag-b'] } });
    await service.createArticle(viewer, { title: 'T', description: 'D', body: 'B', tagList: ['b'] });
    expect(taxonomy.tagsNamed.mock.calls[0][0]).toEqual(['b']);
    expect(posts.create.mock.calls).toEqual([
      [viewer, { title: 'T', excerpt: 'D', content: 'B', tagIds: ['tag-b'] }, undefined, { publishNow: true }],
    ]);
  });

  it('takes the publication and counts new tags only when a name is new, before any tag (review 19c L3 and M2, session 20)', async () => {
    const { service, posts } = fakes();
    // Existing names only (or none): nothing taken ahead, the creating transaction counts it.
    await service.createArticle(viewer, { title: 'T', description: 'D', body: 'B', tagList: ['b'] });
    await service.createArticle(viewer, { title: 'T', description: 'D', body: 'B' });
    expect(posts.takePublication).not.toHaveBeenCalled();
    expect(posts.countNewTags).not.toHaveBeenCalled();
    expect(posts.create.mock.calls.map((call) => call[3])).toEqual([
      { publishNow: true, publicationTaken: undefined },
      { publishNow: true, publicationTaken: undefined },
    ]);
    // Two new names: the publication taken, then both counted, before the post is created, which
    // then counts no publication again.
    await service.createArticle(viewer, { title: 'T', description: 'D', body: 'B', tagList: ['new-a', 'b', 'new-c'] });
    expect(posts.takePublication).toHaveBeenCalledTimes(1);
    expect(posts.countNewTags.mock.calls).toEqual([[viewer, 2]]);
    expect(posts.takePublication.mock.invocationCallOrder[0]).toBeLessThan(
      posts.countNewTags.mock.invocationCallOrder[0],
    );
    expect(posts.countNewTags.mock.invocationCallOrder[0]).toBeLessThan(posts.create.mock.invocationCallOrder[2]);
    expect(posts.create.mock.calls[2][3]).toEqual({ publishNow: true, publicationTaken: { giveBack: posts.giveBack } });
    expect(posts.giveBack).not.toHaveBeenCalled();
  });

  const withNewTag = { title: 'T', description: 'D', body: 'B', tagList: ['new-a'] };

  it('gives the publication back when the post was surely not written (review 20c, L3), not when the limit refused it', async () => {
    const { service, posts, taxonomy } = fakes();
    const givenBackFor = async (fail: () => void, expected: unknown) => {
      posts.giveBack.mockClear();
      fail();
      await expect(service.createArticle(viewer, withNewTag)).rejects.toBe(expected);
      return posts.giveBack.mock.calls.length;
    };
    // Before the creation was called: the new tags refused, or a tag's creation cut (the post was never sent).
    const tooMany = refusal429('too_many_new_tags');
    expect(await givenBackFor(() => posts.countNewTags.mockRejectedValueOnce(tooMany), tooMany)).toBe(1);
    const tagCut = databaseTimeout();
    const cutAfterHook = async (_names: string[], hook?: (newTags: number) => Promise<void>) => {
      await hook?.(1);
      throw tagCut;
    };
    expect(await givenBackFor(() => taxonomy.tagsNamed.mockImplementationOnce(cutAfterHook), tagCut)).toBe(1);
    // The creation refused (a tag deleted meanwhile: 422, before its transaction is sent).
    const unknownTag = unprocessable(ErrorCode.TagNotFound, 'Unknown tag id(s): tag-new-a');
    expect(await givenBackFor(() => posts.create.mockRejectedValueOnce(unknownTag), unknownTag)).toBe(1);
    // Its transaction cancelled by DynamoDB, or never sent (the gate's queue full).
    const cancelled = await cancelledTransaction();
    expect(await givenBackFor(() => posts.create.mockRejectedValueOnce(cancelled), cancelled)).toBe(1);
    const busy = databaseBusy();
    expect(await givenBackFor(() => posts.create.mockRejectedValueOnce(busy), busy)).toBe(1);
    // Refused by the window: nothing was taken, nothing is given back.
    const full = refusal429('too_many_publishes');
    expect(await givenBackFor(() => posts.takePublication.mockRejectedValueOnce(full), full)).toBe(0);
  });

  it('keeps the publication counted when the creating transaction may have committed (a timeout or a reset after sending)', async () => {
    const { service, posts } = fakes();
    const unknownOutcomes = [
      databaseTimeout(),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('The socket timed out'), { name: 'TimeoutError' }),
      new Error('database down'),
    ];
    for (const error of unknownOutcomes) {
      posts.create.mockRejectedValueOnce(error);
      await expect(service.createArticle(viewer, withNewTag)).rejects.toBe(error);
    }
    expect(posts.takePublication).toHaveBeenCalledTimes(unknownOutcomes.length);
    expect(posts.giveBack).not.toHaveBeenCalled();
  });

  it("logs a give-back that fails, and still answers the request's own error", async () => {
    const { service, posts } = fakes();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      posts.giveBack.mockRejectedValueOnce(new Error('throttled'));
      const tooMany = refusal429('too_many_new_tags');
      posts.countNewTags.mockRejectedValueOnce(tooMany);
      await expect(service.createArticle(viewer, withNewTag)).rejects.toBe(tooMany);
      expect(posts.giveBack).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls).toEqual([[expect.stringMatching(/could not be given back.*Error: throttled$/)]]);
    } finally {
      warn.mockRestore();
    }
  });
});
