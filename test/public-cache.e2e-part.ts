import { routesMapped } from '../src/app.setup.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  publishPost,
  signUp,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

/**
 * The short-lived cache of anonymous public pages (PUBLIC_CACHE_SECONDS): the front page read
 * 10,000 times/s must not be 10,000 Queries/s on one month's index partition.
 */
describe('public page cache (e2e)', () => {
  let t: TestApp;
  let author: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({ ...ADMIN_ENV, PUBLIC_CACHE_SECONDS: '5' });
    author = await signUp(t);
  });

  it("counts the routes at start-up as without the cache: the cache's own GET layers are not routes", () => {
    // The start-up line is `routesMapped`'s (read here: Nest's static logger writes to the first app's log).
    const operations = Object.entries(t.openapi.document.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([, operation]) =>
        Object.keys(operation as object).filter((key) => /^(get|post|put|patch|delete)$/.test(key)),
      );
    expect(operations.length).toBeGreaterThan(50);
    expect(routesMapped(t.app)).toMatch(new RegExp(`^\\d+ routes mapped: ${operations.length} under /api/v1, `));
  });
  afterAll(async () => {
    await t.close();
  });

  const publish = (title: string) => publishPost(t, author, title);
  const titles = (body: { items: { title: string }[] }) => body.items.map((post) => post.title);

  it('answers an anonymous feed from memory for the period, with Cache-Control and an ETag', async () => {
    t.clock.set(new Date());
    await publish('First');
    const first = await t.api.get('/api/v1/posts').expect(200);
    expect(dynamoCost(first).calls).toBeGreaterThan(0);
    expect(first.headers['cache-control']).toBe('public, max-age=5');
    expect(first.headers.etag).toMatch(/^"[\w-]{27}"$/);
    expect(titles(first.body)).toEqual(['First']);

    t.clock.advance(1000);
    await publish('Second');
    const cached = await t.api.get('/api/v1/posts').expect(200);
    expect(dynamoCost(cached).calls).toBe(0);
    expect(titles(cached.body)).toEqual(['First']);
    expect(cached.headers.etag).toBe(first.headers.etag);
    expect(cached.headers['cache-control']).toBe('public, max-age=4');
    // A hit sends the stored JSON text: the same bytes and type as the answer it keeps.
    expect(cached.headers['content-type']).toBe(first.headers['content-type']);
    expect(cached.text).toBe(first.text);

    // Another URL is another entry; after the period the feed is read again.
    expect(dynamoCost(await t.api.get('/api/v1/posts?limit=1').expect(200)).calls).toBeGreaterThan(0);
    t.clock.advance(4000);
    const fresh = await t.api.get('/api/v1/posts').expect(200);
    expect(dynamoCost(fresh).calls).toBeGreaterThan(0);
    expect(titles(fresh.body)).toEqual(['Second', 'First']);
    expect(fresh.headers.etag).not.toBe(first.headers.etag);
    t.clock.reset();
  });

  it('serves the public feed from memory whatever Authorization says: the route never reads it (review 16b L2)', async () => {
    t.clock.set(new Date());
    await publish('Headers');
    const first = await t.api.get('/api/v1/posts?limit=3').expect(200);
    expect(dynamoCost(first).calls).toBeGreaterThan(0);
    // Garbage, a malformed bearer token, a forged one, a real one: the same bytes, no database call
    // (before, each was a full feed Query: the load the cache exists to absorb).
    for (const header of ['x', '', 'Bearer not-a-token', 'Bearer a.b.c', author.bearer]) {
      const again = await t.http.get('/api/v1/posts?limit=3').set('authorization', header).expect(200);
      expect({ header, calls: dynamoCost(again).calls }).toEqual({ header, calls: 0 });
      expect(again.text).toBe(first.text);
      expect(again.headers.etag).toBe(first.headers.etag);
      expect(again.headers['cache-control']).toBe('public, max-age=5');
    }
    // Its answer is the same for every caller, so a CDN need not keep one copy per token.
    expect(first.headers.vary ?? '').not.toMatch(/\bAuthorization\b/i);
    // A miss with a header fills the entry as an anonymous one does (the answer is the same).
    const filled = await t.http.get('/api/v1/posts?limit=4').set('authorization', 'x').expect(200);
    expect(dynamoCost(filled).calls).toBeGreaterThan(0);
    const hit = await t.api.get('/api/v1/posts?limit=4').expect(200);
    expect(dynamoCost(hit).calls).toBe(0);
    expect(hit.text).toBe(filled.text);
    t.clock.reset();
  });

  it('leaves a post to the guard when a token is sent: a bad one is 401 before any database call, a good one is the reader’s own answer', async () => {
    const id = await publish('Personal');
    const anonymous = await t.api.get(`/api/v1/posts/${id}`).expect(200);
    expect(anonymous.headers.vary).toMatch(/\bAuthorization\b/i);
    expect(dynamoCost(await t.api.get(`/api/v1/posts/${id}`).expect(200)).calls).toBe(0);
    // `@OptionalAuth()`: a sent token must be valid, and the guard refuses garbage without a read.
    for (const header of ['x', 'Bearer not-a-token', 'Bearer a.b.c']) {
      const refused = await t.http.get(`/api/v1/posts/${id}`).set('authorization', header).expect(401);
      expect({ header, code: refused.body.code, calls: dynamoCost(refused).calls }).toEqual({
        header,
        code: 'invalid_token',
        calls: 0,
      });
    }
    const signedIn = await t.api.get(`/api/v1/posts/${id}`).set('authorization', author.bearer).expect(200);
    expect(dynamoCost(signedIn).calls).toBeGreaterThan(0);
    // The reader's own answer: no shared cache or CDN may keep it (review 17a L4).
    expect(signedIn.headers['cache-control']).toBe('private, no-store');
    expect(signedIn.headers.vary).toMatch(/\bAuthorization\b/i);
    expect(signedIn.body).toMatchObject({ id, likedByMe: false });
  });

  it('marks the answers computed for a signed-in caller private, no-store: GET /users/me and the personal feed (review 17a L4)', async () => {
    for (const path of ['/api/v1/users/me', '/api/v1/feed']) {
      const own = await t.api.get(path).set('authorization', author.bearer).expect(200);
      expect({ path, cacheControl: own.headers['cache-control'] }).toEqual({ path, cacheControl: 'private, no-store' });
      // Without a token these routes answer 401, which says nothing of caching.
      const refused = await t.api.get(path).expect(401);
      expect({ path, cacheControl: refused.headers['cache-control'] }).toEqual({ path, cacheControl: undefined });
    }
  });

  it('answers HEAD from the same entry, headers only; a HEAD that misses fills it (review 16b L3)', async () => {
    t.clock.set(new Date());
    const id = await publish('Headed');
    // A miss by HEAD: the route reads the post, the entry is kept, no body is sent.
    const headMiss = await t.http.head(`/api/v1/posts/${id}`).expect(200);
    expect(dynamoCost(headMiss).calls).toBeGreaterThan(0);
    expect(headMiss.text ?? '').toBe('');
    expect(headMiss.headers['cache-control']).toBe('public, max-age=5');
    const get = await t.api.get(`/api/v1/posts/${id}`).expect(200);
    expect(dynamoCost(get).calls).toBe(0);
    expect(get.headers.etag).toBe(headMiss.headers.etag);

    t.clock.advance(2000);
    const headHit = await t.http.head(`/api/v1/posts/${id}`).expect(200);
    expect(dynamoCost(headHit).calls).toBe(0);
    expect(headHit.text ?? '').toBe('');
    expect(headHit.headers.etag).toBe(get.headers.etag);
    expect(headHit.headers['cache-control']).toBe('public, max-age=3');
    expect(headHit.headers['content-type']).toBe(get.headers['content-type']);
    expect(headHit.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
    expect(headHit.headers.vary).toMatch(/\bAuthorization\b/i);
    // A conditional HEAD is a 304, as a GET is.
    const unchanged = await t.http
      .head(`/api/v1/posts/${id}`)
      .set('if-none-match', String(get.headers.etag))
      .expect(304);
    expect(dynamoCost(unchanged).calls).toBe(0);
    // The feed by HEAD after its GET: no database call either.
    await t.api.get('/api/v1/posts?limit=9').expect(200);
    expect(dynamoCost(await t.http.head('/api/v1/posts?limit=9').expect(200)).calls).toBe(0);
    t.clock.reset();
  });

  it('serves the spellings of one page from one entry: leading zeros, an encoded name, the path in capitals (review 5, #3)', async () => {
    t.clock.set(new Date());
    await publish('Spelled');
    const first = await t.api.get('/api/v1/posts?limit=7').expect(200);
    expect(dynamoCost(first).calls).toBeGreaterThan(0);
    // Plain supertest: the OpenAPI check takes `/POSTS` for an undocumented route (Express does not).
    for (const spelling of [
      '/api/v1/posts?limit=007',
      '/api/v1/posts?limit=7.0',
      '/api/v1/posts?limit=%2B7',
      '/api/v1/posts?%6Cimit=7',
      '/api/v1/POSTS?limit=7',
    ]) {
      const again = await t.http.get(spelling).expect(200);
      expect({ spelling, calls: dynamoCost(again).calls }).toEqual({ spelling, calls: 0 });
      expect(again.text).toBe(first.text);
    }
    // Another page is another entry.
    expect(dynamoCost(await t.api.get('/api/v1/posts?limit=8').expect(200)).calls).toBeGreaterThan(0);
    t.clock.reset();
  });

  it('refuses a made-up query parameter on every cached route with 400 and no database call, and keeps the real entry (review 19a M4)', async () => {
    t.clock.set(new Date());
    const id = await publish('Junk-proof');
    const { slug } = (await t.api.get(`/api/v1/posts/${id}`).expect(200)).body as { slug: string };
    for (const path of [
      '/api/v1/categories',
      `/api/v1/posts/${id}`,
      `/api/v1/posts/by-slug/${slug}`,
      '/api/v1/posts',
    ]) {
      const real = await t.api.get(path).expect(200);
      // Before, each new value was a miss: a Query of the post or the tree, and an entry pushing a real one out.
      for (const junk of ['x=1', 'x=2', '_=1732752000000', 'limit[]=1']) {
        const refused = await t.http.get(`${path}?${junk}`).expect(400);
        expect({ path, junk, code: refused.body.code, calls: dynamoCost(refused).calls }).toEqual({
          path,
          junk,
          code: 'validation_failed',
          calls: 0,
        });
      }
      const hit = await t.api.get(path).expect(200);
      expect({ path, calls: dynamoCost(hit).calls }).toEqual({ path, calls: 0 });
      expect(hit.text).toBe(real.text);
    }
    t.clock.reset();
  });

  it("keeps a deactivated author's cached ?author= page at most PUBLIC_CACHE_SECONDS, then answers it empty (the documented bound)", async () => {
    t.clock.set(new Date());
    const writer = await signUp(t);
    await publishPost(t, writer, 'Soon gone');
    const url = `/api/v1/posts?author=${writer.userId}`;
    expect(titles((await t.api.get(url).expect(200)).body)).toEqual(['Soon gone']);
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', writer.bearer)
      .send({ password: writer.password })
      .expect(204);
    // No instance is told: the entry stands for the rest of its period, and says so in max-age.
    t.clock.advance(4000);
    const stale = await t.api.get(url).expect(200);
    expect(dynamoCost(stale).calls).toBe(0);
    expect(titles(stale.body)).toEqual(['Soon gone']);
    expect(stale.headers['cache-control']).toBe('public, max-age=1');
    t.clock.advance(1000);
    const fresh = await t.api.get(url).expect(200);
    expect(dynamoCost(fresh).calls).toBeGreaterThan(0);
    expect(fresh.body).toEqual({ items: [], nextCursor: null });
    t.clock.reset();
  });

  it("keeps a post's own version ETag and does not cache a 404", async () => {
    const id = await publish('Versioned');
    const read = await t.api.get(`/api/v1/posts/${id}`).expect(200);
    const again = await t.api.get(`/api/v1/posts/${id}`).expect(200);
    expect(dynamoCost(again).calls).toBe(0);
    expect(again.headers.etag).toBe(read.headers.etag);
    expect(again.headers.etag).toMatch(/^(W\/)?"\d+"$/);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.text).toBe(read.text);

    const missing = '/api/v1/posts/AAAAAAAAAAAAAAAAAAAAA';
    await t.api.get(missing).expect(404);
    expect(dynamoCost(await t.api.get(missing).expect(404)).calls).toBeGreaterThan(0);
  });
});
