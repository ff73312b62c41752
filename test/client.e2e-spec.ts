import { readFileSync } from 'node:fs';
import { quickStart } from '../clients/typescript/examples/quick-start.js';
import { createPublishingClient, ProblemError, type TokenPair } from '../clients/typescript/src/index.js';
import { craftJwt, decodeJwt } from './helpers/jwt.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

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

  it('iterates over 250 posts, page by page, with `for await`', async () => {
    const { sent, fetch } = recordingFetch();
    const client = createPublishingClient({ baseUrl, fetch });
    await client.auth.register(newAccount());
    for (let i = 0; i < 250; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => client.posts.create({ title: `Paged ${i + j}`, content: 'x' })),
      );
    }
    const pagesBefore = sent.length;

    const ids: string[] = [];
    for await (const post of client.me.posts({ limit: 100 })) ids.push(post.id);

    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect(sent.slice(pagesBefore).map((r) => r.path)).toEqual(Array(3).fill('/api/v1/users/me/posts'));
  });

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
});

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

    const example = readFileSync('clients/typescript/examples/quick-start.ts', 'utf8');
    const body = example.slice(example.indexOf('export async function'));
    const readme = readFileSync('clients/typescript/README.md', 'utf8');
    expect(readme).toContain(body.trim());
  });
});
