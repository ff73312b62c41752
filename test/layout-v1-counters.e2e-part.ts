import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTestApp, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

/**
 * Data model v2 moved the counters that change often (a post's views, likes and comments; a
 * user's sign-ins) to small unindexed items, and keeps the old attributes as a base that reads
 * add to. So a table written by the previous layout needs no migration for them: here items are
 * put in that layout (counts on the summary and the user item, no small items) and read and
 * counted on by this version.
 */
describe('counters written by the previous layout (e2e)', () => {
  let t: TestApp;
  let author: SignedIn;
  let reader: SignedIn;

  beforeAll(async () => {
    t = await createTestApp();
    author = await signUp(t);
    reader = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const setOld = (key: { PK: string; SK: string }, values: Record<string, unknown>) =>
    t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: key,
        UpdateExpression: `SET ${Object.keys(values)
          .map((name) => `${name} = :${name}`)
          .join(', ')}`,
        ExpressionAttributeValues: Object.fromEntries(Object.entries(values).map(([name, v]) => [`:${name}`, v])),
      }),
    );

  it("a post's counts on its summary are the base that views, likes and comments add to", async () => {
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Old counts', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).expect(200);
    await setOld({ PK: `POST#${post.id}`, SK: 'POST' }, { viewCount: 7, likeCount: 5, commentCount: 2 });
    expect(await t.getItem(`POST#${post.id}`, 'COUNTS')).toBeUndefined();

    expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body).toMatchObject({
      viewCount: 7,
      likeCount: 5,
      commentCount: 2,
    });
    const like = await t.api.put(`/api/v1/posts/${post.id}/like`).set('authorization', reader.bearer).expect(200);
    expect(like.body).toEqual({ liked: true, likeCount: 6 });
    expect((await t.api.post(`/api/v1/posts/${post.id}/views`).expect(200)).body).toEqual({ viewCount: 8 });
    await t.api.post(`/api/v1/posts/${post.id}/comments`).set('authorization', reader.bearer).send({ content: 'c' });
    await t.mailSent(); // the view's shard is folded into the counter item by the stream
    const read = (await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body;
    expect(read).toMatchObject({ viewCount: 8, likeCount: 6 });
    // The feed (an index page) adds the counter items too.
    const listed = (await t.api.get(`/api/v1/posts?author=${author.userId}`).expect(200)).body.items;
    expect(listed).toEqual([
      expect.objectContaining({ id: post.id, viewCount: 8, likeCount: 6, commentCount: read.commentCount }),
    ]);
    // The summary itself was not written by any of them.
    expect(await t.getItem(`POST#${post.id}`, 'POST')).toMatchObject({ viewCount: 7, likeCount: 5, commentCount: 2 });
  });

  it("a user's sign-in bookkeeping on the user item is the base that sign-ins add to", async () => {
    await setOld(
      { PK: `USER#${author.userId}`, SK: 'USER' },
      { lastLoginAt: '2020-01-01T00:00:00.000Z', loginCount: 9 },
    );
    const me = await t.api.get('/api/v1/users/me').set('authorization', author.bearer).expect(200);
    expect(me.body).toMatchObject({ loginCount: 9, lastLoginAt: '2020-01-01T00:00:00.000Z' });

    const login = await t.api
      .post('/api/v1/auth/login')
      .send({ email: author.email, password: author.password })
      .expect(200);
    expect(login.body.user.loginCount).toBe(10);
    expect(login.body.user.lastLoginAt > '2020-01-01T00:00:00.000Z').toBe(true);
    const after = await t.api
      .get('/api/v1/users/me')
      .set('authorization', `Bearer ${login.body.accessToken as string}`);
    expect(after.body).toMatchObject({ loginCount: 10, lastLoginAt: login.body.user.lastLoginAt });
    expect(await t.getItem(`USER#${author.userId}`, 'USER')).toMatchObject({ loginCount: 9 });
  });
});
