import type { Response } from 'supertest';
import { INDEX_SHARDS } from '../src/dynamo/sharding.js';
import { decodeJwt } from './helpers/jwt.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
  verifyEmail,
} from './helpers/test-app.js';

/**
 * The `calls` column of the access-pattern table in docs/data-model.md, request by request, as
 * `Server-Timing` reports it. The table counts the request's own calls; an authenticated
 * request adds the guard's BatchGetItem, which `guard` adds here.
 */
describe('access patterns: DynamoDB calls per request (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  let moderator: SignedIn;
  let author: SignedIn;
  let reader: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
    moderator = await signUpWithRole(t, admin, 'moderator');
    author = await signUp(t);
    reader = await signUp(t);
    await verifyEmail(t, reader);
  });
  afterAll(async () => {
    await t.close();
  });

  const as = (user: SignedIn) => ({
    get: (url: string) => t.api.get(url).set('authorization', user.bearer),
    post: (url: string, body: object = {}) => t.api.post(url).set('authorization', user.bearer).send(body),
    put: (url: string) => t.api.put(url).set('authorization', user.bearer),
    patch: (url: string, body: object) => t.api.patch(url).set('authorization', user.bearer).send(body),
    delete: (url: string) => t.api.delete(url).set('authorization', user.bearer),
  });
  const newPost = async (publish: boolean, body: object = {}) => {
    const post = (
      await as(author)
        .post('/api/v1/posts', { title: 'Pattern', content: 'x', ...body })
        .expect(201)
    ).body as { id: string; slug: string };
    if (publish) await as(author).post(`/api/v1/posts/${post.id}/publish`).expect(200);
    return post;
  };
  const newComment = async (postId: string, content = 'c') =>
    (await as(reader).post(`/api/v1/posts/${postId}/comments`, { content }).expect(201)).body as { id: string };
  const newTag = async (name: string) =>
    (await as(admin).post('/api/v1/tags', { name }).expect(201)).body as { id: string; slug: string };
  const newCategory = async (name: string) =>
    (await as(admin).post('/api/v1/categories', { name }).expect(201)).body as { id: string; slug: string };

  // Titles and names are distinct per row: a clash of generated slugs adds the slug counter's calls (#23).
  const GUARD = 1;
  type Row = [number, string, number | [number, number], () => Promise<Response>];
  const rows: Row[] = [
    [
      1,
      'register (the register-IP counter is off in test apps: 2 with it)',
      1,
      () => t.api.post('/api/v1/auth/register').send({ email: 'p1@example.com', password: 'password-1' }),
    ],
    [2, 'public user by id', 1, () => t.api.get(`/api/v1/users/${author.userId}`)],
    [5, 'readiness probe', 1, () => t.api.get('/health/ready')],
    [
      6,
      'login (the failure counters are deleted only when the peek found failures; the session cap reads nothing below the cap)',
      4,
      () => t.api.post('/api/v1/auth/login').send({ email: author.email, password: author.password }),
    ],
    [
      8,
      'refresh (the refresh counter is off in test apps: 3 with it)',
      2,
      async () => t.api.post('/api/v1/auth/refresh').send({ refreshToken: (await signUp(t)).refreshToken }),
    ],
    // The Query alone: the guard's read of the user item gives the cutoff that leaves ended
    // sessions out (review 16a L4: a GetItem of it beside the Query before).
    [9, 'list my sessions', 1 + GUARD, () => as(author).get('/api/v1/auth/sessions')],
    [
      10,
      'revoke a session',
      1 + GUARD,
      async () => {
        const user = await signUp(t);
        const phone = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
        return as(user).delete(`/api/v1/auth/sessions/${decodeJwt(phone.body.accessToken).sid as string}`);
      },
    ],
    [10, 'logout', 1 + GUARD, async () => as(await signUp(t)).post('/api/v1/auth/logout')],
    [
      11,
      'logout-all (2 sessions)',
      // The user item's epoch (ends them all), then the clean-up: the Query and one batch.
      1 + 1 + 1 + GUARD,
      async () => {
        const user = await signUp(t);
        await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
        return as(user).post('/api/v1/auth/logout-all');
      },
    ],
    [14, 'my account with profile', 1 + GUARD, () => as(author).get('/api/v1/users/me')],
    // The transaction and two reads (+1 for the rename limit's counter, off in ordinary suites).
    [15, 'change names', 1 + 2 + GUARD, async () => as(await signUp(t)).patch('/api/v1/users/me', { firstName: 'N' })],
    [
      17,
      'update profile',
      1 + 2 + GUARD,
      async () => as(await signUp(t)).patch('/api/v1/users/me/profile', { bio: 'b' }),
    ],
    [
      18,
      'user by username',
      2,
      async () => {
        await signUp(t, { username: 'pattern_18' });
        return t.api.get('/api/v1/users/by-username/pattern_18');
      },
    ],
    // + one BatchGetItem of the page's sign-in items (kept off the indexed user item)
    // One Query per shard (one round trip) and the BatchGet of the page's sign-in items.
    [19, 'admin user listing', INDEX_SHARDS + 1 + GUARD, () => as(admin).get('/api/v1/users?role=user&status=pending')],
    [
      20,
      'set role',
      [1 + 1 + GUARD, 1 + 2 + GUARD],
      async () => as(admin).patch(`/api/v1/users/${(await signUp(t)).userId}/role`, { role: 'moderator' }),
    ],
    [22, 'category tree', 1, () => t.api.get('/api/v1/categories')],
    [
      22,
      'category by slug',
      1,
      async () => t.api.get(`/api/v1/categories/by-slug/${(await newCategory('Pattern 22')).slug}`),
    ],
    [23, 'create category', 1 + GUARD, () => as(admin).post('/api/v1/categories', { name: 'Pattern 23' })],
    [23, 'create tag', 1 + GUARD, () => as(admin).post('/api/v1/tags', { name: 'Pattern 23' })],
    [
      24,
      'update tag',
      [1 + 1 + GUARD, 1 + 2 + GUARD],
      async () => as(admin).patch(`/api/v1/tags/${(await newTag('Pattern 24')).id}`, { name: 'Pattern 24b' }),
    ],
    [26, 'tags A-Z', 1, () => t.api.get('/api/v1/tags')],
    [26, 'tags by use', 1, () => t.api.get('/api/v1/tags?sort=popular')],
    [27, 'tag by slug', 2, async () => t.api.get(`/api/v1/tags/by-slug/${(await newTag('Pattern 27')).slug}`)],
    [28, 'create post', 1 + GUARD, () => as(author).post('/api/v1/posts', { title: 'Plain 28', content: 'x' })],
    [
      28,
      'create post with tags and a category',
      3 + GUARD,
      async () => {
        const [tag, category] = [await newTag('Pattern 28'), await newCategory('Pattern 28')];
        return as(author).post('/api/v1/posts', {
          title: 'Tagged 28',
          content: 'x',
          tagIds: [tag.id],
          categoryId: category.id,
        });
      },
    ],
    [
      29,
      'publish post',
      [2 + GUARD, 3 + GUARD],
      async () => as(author).post(`/api/v1/posts/${(await newPost(false)).id}/publish`),
    ],
    [30, 'post by id', 1, async () => t.api.get(`/api/v1/posts/${(await newPost(true)).id}`)],
    [30, 'post by slug', 2, async () => t.api.get(`/api/v1/posts/by-slug/${(await newPost(true)).slug}`)],
    // Index pages add one BatchGetItem of the page's counter items (none for an empty page).
    [31, 'global feed page (a bucket that fills the page)', 2, () => t.api.get('/api/v1/posts?limit=1')],
    [31, 'global feed page (the bucket runs out)', [3, 7], () => t.api.get('/api/v1/posts?limit=100')],
    // A user's lists read the user's status beside the page (review 20b L4).
    [32, 'author feed', 3, () => t.api.get(`/api/v1/posts?author=${author.userId}`)],
    [32, "a user's posts", 3, () => t.api.get(`/api/v1/users/${author.userId}/posts`)],
    [
      33,
      'tag feed (the slug remembered)',
      1,
      async () => {
        const tag = await newTag('Pattern 33');
        await newPost(true, { tagIds: [tag.id] });
        await t.api.get(`/api/v1/posts?tag=${tag.slug}`).expect(200); // 2 calls: the slug is read once
        return t.api.get(`/api/v1/posts?tag=${tag.slug}`);
      },
    ],
    [
      33,
      'category feed (the slug not yet remembered)',
      2,
      async () => {
        const category = await newCategory('Pattern 33');
        await newPost(true, { categoryId: category.id });
        return t.api.get(`/api/v1/posts?category=${category.slug}`);
      },
    ],
    [34, 'my posts', 2 + GUARD, () => as(author).get('/api/v1/users/me/posts')],
    // + the user's status beside the page (404 without an account)
    [34, "a user's posts (admin)", 3 + GUARD, () => as(admin).get(`/api/v1/users/${author.userId}/posts/all`)],
    [35, 'like a post', 2 + GUARD, async () => as(reader).put(`/api/v1/posts/${(await newPost(true)).id}/like`)],
    [
      35,
      'unlike a post',
      2 + GUARD,
      async () => {
        const post = await newPost(true);
        await as(reader).put(`/api/v1/posts/${post.id}/like`).expect(200);
        return as(reader).delete(`/api/v1/posts/${post.id}/like`);
      },
    ],
    [36, 'my likes', 2 + GUARD, () => as(reader).get('/api/v1/users/me/likes')],
    [37, 'count a view', 3, async () => t.api.post(`/api/v1/posts/${(await newPost(true)).id}/views`)],
    [
      39,
      'comment',
      [3 + GUARD, 5 + GUARD],
      async () => as(reader).post(`/api/v1/posts/${(await newPost(true)).id}/comments`, { content: 'c' }),
    ],
    [
      39,
      'reply',
      [3 + GUARD, 5 + GUARD],
      async () => {
        const post = await newPost(true);
        const parent = await newComment(post.id);
        return as(reader).post(`/api/v1/posts/${post.id}/comments`, { content: 'r', parentId: parent.id });
      },
    ],
    [
      40,
      'thread page',
      2,
      async () => {
        const post = await newPost(true);
        await newComment(post.id);
        return t.api.get(`/api/v1/posts/${post.id}/comments`);
      },
    ],
    [
      41,
      'edit a comment',
      5 + GUARD,
      async () => {
        const post = await newPost(true);
        const comment = await newComment(post.id);
        return as(reader).patch(`/api/v1/posts/${post.id}/comments/${comment.id}`, { content: 'edited' });
      },
    ],
    [
      41,
      'moderate a comment',
      5 + GUARD,
      async () => {
        const post = await newPost(true);
        const comment = await newComment(post.id);
        return as(moderator).post(`/api/v1/posts/${post.id}/comments/${comment.id}/moderate`, { status: 'spam' });
      },
    ],
    [
      41,
      'delete a comment',
      [3 + GUARD, 4 + GUARD],
      async () => {
        const post = await newPost(true);
        const comment = await newComment(post.id);
        return as(reader).delete(`/api/v1/posts/${post.id}/comments/${comment.id}`);
      },
    ],
    // One Query per shard of the queue (one round trip), + 1 BatchGetItem of the page's posts when the
    // page is not empty (deleted posts' comments are dropped)
    [
      42,
      'moderation queue',
      [INDEX_SHARDS + GUARD, INDEX_SHARDS + 1 + GUARD],
      () => as(moderator).get('/api/v1/comments/moderation'),
    ],
    [43, "a user's approved comments", 4, () => t.api.get(`/api/v1/users/${reader.userId}/comments`)],
    [
      44,
      'like a comment',
      5 + GUARD,
      async () => {
        const post = await newPost(true);
        const comment = await newComment(post.id);
        return as(author).put(`/api/v1/posts/${post.id}/comments/${comment.id}/like`);
      },
    ],
    [
      45,
      'my personal data, a new account (no content, no follows)',
      // The guard's user read gives the sessions' cutoff (review 16a L4: 12 + GUARD before).
      11 + GUARD,
      async () => as(await signUp(t)).get('/api/v1/users/me/export'),
    ],
  ];

  it.each(rows)('#%i %s: %p calls', async (_n, _pattern, calls, run) => {
    const res = await run();
    expect(res.status).toBeLessThan(300);
    const [min, max] = Array.isArray(calls) ? calls : [calls, calls];
    const measured = dynamoCost(res).calls;
    expect(measured).toBeGreaterThanOrEqual(min);
    expect(measured).toBeLessThanOrEqual(max);
  });
});
