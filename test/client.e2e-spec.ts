import { readFileSync } from 'node:fs';
import { quickStart } from '../clients/typescript/examples/quick-start.js';
import { createPublishingClient, ProblemError, type TokenPair } from '../clients/typescript/src/index.js';
import { craftJwt, decodeJwt } from './helpers/jwt.js';
import { createTestApp, SEEDING_TIMEOUT_MS, setUserAttributes, type TestApp } from './helpers/test-app.js';
import { processStream } from './helpers/stream.js';

/**
 * The TypeScript client (clients/typescript) against the real app listening on loopback, through
 * real HTTP: what issue 19 asks the hand-written layer to do, each with a test that fails without it.
 */
describe('TypeScript client (e2e)', () => {
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    baseUrl = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await t.close();
  });

  /** A fetch that records every request it passes on (method, path, headers). */
  const recordingFetch = () => {
    const sent: { method: string; path: string; headers: Headers }[] = [];
    const fetch = (request: Request) => {
      sent.push({ method: request.method, path: new URL(request.url).pathname, headers: new Headers(request.headers) });
      return globalThis.fetch(request);
    };
    return { sent, fetch };
  };
  let counter = 0;
  const newAccount = () => ({ email: `client-${++counter}-${Date.now()}@example.com`, password: 'client-password-1' });

  it('signs in, keeps the token pair in its storage and sends it', async () => {
    const client = createPublishingClient({ baseUrl });
    const account = newAccount();
    await client.auth.register(account);
    const other = createPublishingClient({ baseUrl });
    await other.auth.login(account.email, account.password);
    expect((await other.storage.get())?.accessToken).toEqual(expect.any(String));
    expect((await other.me.get()).email).toBe(account.email);
    await other.auth.logout();
    expect(await other.storage.get()).toBeUndefined();
  });

  it('forgets the tokens on sign-out even when the server refuses it (revoked) or cannot be reached', async () => {
    const account = newAccount();
    const client = createPublishingClient({ baseUrl });
    await client.auth.register(account);
    // Another device with the same session signs it out first.
    const revoked = createPublishingClient({ baseUrl });
    await revoked.storage.set(await client.storage.get());
    await client.auth.logout();
    await expect(revoked.auth.logout()).rejects.toMatchObject({ status: 401, code: 'session_revoked' });
    expect(await revoked.storage.get()).toBeUndefined();

    const offline = createPublishingClient({
      baseUrl,
      fetch: (request) =>
        new URL(request.url).pathname.endsWith('/logout')
          ? Promise.reject(new TypeError('fetch failed'))
          : fetch(request),
    });
    await offline.auth.login(account.email, account.password);
    await expect(offline.auth.logout()).rejects.toThrow('fetch failed');
    expect(await offline.storage.get()).toBeUndefined();
  });

  it('refreshes an expired access token once for 5 concurrent calls, and retries them', async () => {
    const signUp = createPublishingClient({ baseUrl });
    const account = newAccount();
    const issued = await signUp.auth.register(account);
    // The same session's token, expired a minute ago, signed with the app's secret.
    const claims = decodeJwt(issued.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const expired = craftJwt({ ...claims, iat: now - 1000, exp: now - 60 }, { secret: t.config.auth.jwtSecret });
    let stored: TokenPair | undefined = { accessToken: expired, refreshToken: issued.refreshToken };
    const { sent, fetch } = recordingFetch();
    const client = createPublishingClient({
      baseUrl,
      fetch,
      storage: { get: () => stored, set: (next) => void (stored = next) },
    });

    const answers = await Promise.all(Array.from({ length: 5 }, () => client.me.get()));

    expect(answers.map((me) => me.email)).toEqual(Array(5).fill(account.email));
    expect(sent.filter((r) => r.path === '/api/v1/auth/refresh')).toHaveLength(1);
    // 5 first tries (401 token_expired), 1 refresh, 5 retries.
    expect(sent.filter((r) => r.path === '/api/v1/users/me')).toHaveLength(10);
    expect(stored?.accessToken).not.toBe(expired);
    expect(stored?.refreshToken).not.toBe(issued.refreshToken);
  });

  it('sends a create again with the same Idempotency-Key when the answer is lost: one post', async () => {
    const { sent, fetch } = recordingFetch();
    let dropped = false;
    const client = createPublishingClient({
      baseUrl,
      // The first create reaches the server, but its answer never comes back.
      fetch: async (request) => {
        const response = await fetch(request);
        if (request.method === 'POST' && new URL(request.url).pathname === '/api/v1/posts' && !dropped) {
          dropped = true;
          throw new TypeError('fetch failed: connection reset');
        }
        return response;
      },
    });
    await client.auth.register(newAccount());

    const post = await client.posts.create({ title: 'Sent twice', content: 'Once stored.' });

    const creates = sent.filter((r) => r.method === 'POST' && r.path === '/api/v1/posts');
    expect(creates).toHaveLength(2);
    const keys = creates.map((r) => r.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const mine: string[] = [];
    for await (const summary of client.me.posts()) mine.push(summary.id);
    expect(mine).toEqual([post.id]);
  });

  // Three pages of ten are enough to show the paging; 250 posts made this the slowest client test.
  it(
    'iterates over 25 posts, page by page, with `for await`',
    async () => {
      const { sent, fetch } = recordingFetch();
      const client = createPublishingClient({ baseUrl, fetch });
      await client.auth.register(newAccount());
      for (let i = 0; i < 25; i += 5) {
        await Promise.all(
          Array.from({ length: 5 }, (_, j) => client.posts.create({ title: `Paged ${i + j}`, content: 'x' })),
        );
      }
      const pagesBefore = sent.length;

      const ids: string[] = [];
      for await (const post of client.me.posts({ limit: 10 })) ids.push(post.id);

      expect(ids).toHaveLength(25);
      expect(new Set(ids).size).toBe(25);
      expect(sent.slice(pagesBefore).map((r) => r.path)).toEqual(Array(3).fill('/api/v1/users/me/posts'));
    },
    SEEDING_TIMEOUT_MS,
  );

  it('surfaces a stale update as a typed ProblemError 412 version_mismatch', async () => {
    const client = createPublishingClient({ baseUrl });
    await client.auth.register(newAccount());
    const created = await client.posts.create({ title: 'Versioned', content: 'v1' });
    const read = await client.posts.get(created.id);
    const changed = await client.posts.update(read, { content: 'v2' });
    expect(changed.version).toBe(read.version + 1);

    const stale = await client.posts.update(read, { content: 'v3' }).catch((error: unknown) => error);

    expect(stale).toBeInstanceOf(ProblemError);
    expect(stale).toMatchObject({ status: 412, code: 'version_mismatch' });
    expect((await client.posts.get(created.id)).content).toBe('v2');
  });

  it('reads a tag feed a page at a time, and a post by slug', async () => {
    // Tags are made by moderators: the author becomes one, and signs in again for a token that says so.
    const author = createPublishingClient({ baseUrl });
    const account = newAccount();
    const { user } = await author.auth.register(account);
    await setUserAttributes(t, user.id, { role: 'moderator' });
    await author.auth.login(account.email, account.password);
    const tag = await createTag(author, `Tag ${counter}`);
    const tagged: string[] = [];
    for (let i = 0; i < 3; i++) {
      const draft = await author.posts.create({ title: `Tagged ${i}`, content: 'x', tagIds: [tag.id] });
      tagged.unshift((await author.posts.publish(draft.id)).id);
      t.clock.advance(1000); // distinct publication times: newest first is certain
    }
    await author.posts.publish((await author.posts.create({ title: 'Untagged', content: 'x' })).id);
    const reader = createPublishingClient({ baseUrl });

    const first = await reader.posts.page({ tag: tag.slug, limit: 2 });
    const second = await reader.posts.page({ tag: tag.slug, limit: 2, cursor: first.nextCursor ?? undefined });

    expect([...first.items, ...second.items].map((p) => p.id)).toEqual(tagged);
    expect(second.nextCursor).toBeNull();
    const newest = await reader.posts.get(tagged[0]);
    expect((await reader.posts.bySlug(newest.slug)).id).toBe(newest.id);
  });

  it('likes and unlikes a post, and refuses a like of a post taken back to draft as a ProblemError 404', async () => {
    const author = createPublishingClient({ baseUrl });
    await author.auth.register(newAccount());
    const post = await author.posts.publish((await author.posts.create({ title: 'Liked', content: 'x' })).id);
    const reader = createPublishingClient({ baseUrl });
    await reader.auth.register(newAccount());

    expect(await reader.posts.like(post.id)).toEqual({ liked: true, likeCount: 1 });
    // A like answers the count read plus itself: the stream folds the like into what is read.
    await processStream(t);
    expect(await reader.posts.like(post.id)).toEqual({ liked: true, likeCount: 1 });
    expect(await reader.posts.get(post.id)).toMatchObject({ likeCount: 1, likedByMe: true });
    expect(await reader.posts.unlike(post.id)).toEqual({ liked: false, likeCount: 0 });

    expect((await author.posts.unpublish(post.id)).status).toBe('draft');
    const refused = await reader.posts.like(post.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProblemError);
    expect(refused).toMatchObject({ status: 404, code: 'post_not_found' });
  });

  it("writes comments and reads a post's thread by page and with `for await`", async () => {
    const client = createPublishingClient({ baseUrl });
    await client.auth.register(newAccount());
    const post = await client.posts.publish((await client.posts.create({ title: 'Discussed', content: 'x' })).id);
    const first = await client.comments.create(post.id, { content: 'First' });
    const reply = await client.comments.create(post.id, { content: 'Reply', parentId: first.id });
    const second = await client.comments.create(post.id, { content: 'Second' });

    const page = await client.comments.page(post.id, { limit: 2 });
    expect(page.items.map((c) => c.id)).toEqual([first.id, reply.id]);
    expect(page.nextCursor).toEqual(expect.any(String));
    const all: string[] = [];
    for await (const comment of client.comments.list(post.id, { limit: 1 })) all.push(comment.id);
    expect(all).toEqual([first.id, reply.id, second.id]);
  });

  it('follows an author, reads the personal feed by page and with `for await`, and unfollows', async () => {
    const author = createPublishingClient({ baseUrl });
    const authorId = (await author.auth.register(newAccount())).user.id;
    const reader = createPublishingClient({ baseUrl });
    const readerId = (await reader.auth.register(newAccount())).user.id;
    expect(await reader.users.follow(authorId)).toEqual({ following: true, followerCount: 1 });
    const post = await author.posts.publish((await author.posts.create({ title: 'Followed', content: 'x' })).id);
    await processStream(t);

    expect((await reader.feed.page()).items.map((p) => p.id)).toEqual([post.id]);
    const all: string[] = [];
    for await (const summary of reader.feed.list({ limit: 1 })) all.push(summary.id);
    expect(all).toEqual([post.id]);
    expect(await reader.users.unfollow(authorId)).toEqual({ following: false, followerCount: 0 });
    expect((await reader.feed.page()).items).toEqual([]);
    const refused = await reader.users.follow(readerId).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 422, code: 'cannot_follow_self' });
  });
});

/** Creates a tag through the generated call (moderators only; no named helper needed by the hooks). */
async function createTag(client: ReturnType<typeof createPublishingClient>, name: string) {
  const { data, response } = await client.raw.POST('/api/v1/tags', { body: { name } });
  if (!data) throw new Error(`tag creation failed: ${response.status}`);
  return data;
}

describe('TypeScript client README example (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs as written, and the README shows it unchanged', async () => {
    const baseUrl = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    expect(await quickStart(baseUrl)).toEqual(['Hello, world']);

    // The whole file, imports included: what a reader copies is what ran.
    const example = readFileSync('clients/typescript/examples/quick-start.ts', 'utf8');
    const readme = readFileSync('clients/typescript/README.md', 'utf8');
    expect(readme).toContain(example.trim());
  });
});
