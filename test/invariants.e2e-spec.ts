import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ADMIN_ENV,
  createTestApp,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';
import { decodeJwt } from './helpers/jwt.js';

/**
 * The invariants a mutation check found unguarded: each test here fails when the rule it names
 * is removed from the code (docs/testing.md lists the break and the test that catches it). The
 * scoped mutation run (`npm run test:mutation:e2e`) runs this file.
 */
describe('invariants (e2e)', () => {
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
  });
  afterAll(async () => {
    await t.close();
  });

  const newPost = async (title: string, body: object = {}) =>
    (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title, content: 'x', ...body })
        .expect(201)
    ).body as { id: string; version: number };
  const publish = (id: string, as: SignedIn = author) =>
    t.api.post(`/api/v1/posts/${id}/publish`).set('authorization', as.bearer).send({});
  /** Moves an item's expiresAt into the past while its ttl stays in the future (TTL deletion lags). */
  const expire = (PK: string, SK: string) =>
    t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: { PK, SK },
        UpdateExpression: 'SET expiresAt = :past',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 60_000).toISOString() },
      }),
    );

  describe('optimistic concurrency', () => {
    it('refuses a stale If-Match on a tag with 412 version_mismatch and keeps the tag', async () => {
      const tag = (
        await t.api.post('/api/v1/tags').set('authorization', moderator.bearer).send({ name: 'Versioned' }).expect(201)
      ).body as { id: string; slug: string };
      const patch = (ifMatch: string, name: string) =>
        t.api
          .patch(`/api/v1/tags/${tag.id}`)
          .set('authorization', moderator.bearer)
          .set('if-match', ifMatch)
          .send({ name });
      expect((await patch('"1"', 'Versioned Two').expect(200)).body).toMatchObject({
        name: 'Versioned Two',
        version: 2,
      });
      const stale = await patch('"1"', 'Stale Write').expect(412);
      expect(stale.body.code).toBe('version_mismatch');
      expect((await t.api.get(`/api/v1/tags/by-slug/${tag.slug}`).expect(200)).body).toMatchObject({
        name: 'Versioned Two',
        version: 2,
      });
    });

    it('refuses a stale If-Match on an admin status change with 412 version_mismatch and keeps the status', async () => {
      const user = await signUp(t);
      const first = await t.api
        .patch(`/api/v1/users/${user.userId}/status`)
        .set('authorization', admin.bearer)
        .set('if-match', '"1"')
        .send({ status: 'active' })
        .expect(200);
      expect(first.body).toMatchObject({ status: 'active', version: 2 });
      const stale = await t.api
        .patch(`/api/v1/users/${user.userId}/status`)
        .set('authorization', admin.bearer)
        .set('if-match', '"1"')
        .send({ status: 'suspended' })
        .expect(412);
      expect(stale.body.code).toBe('version_mismatch');
      expect(await t.getItem(`USER#${user.userId}`, 'USER')).toMatchObject({ status: 'active', version: 2 });
      // the session was not revoked either: the refused change had no effect at all
      await t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(200);

      // What the accepted changes do besides the version (session 13: these survived the scoped
      // mutation run): a suspension revokes the user's sessions at once, deactivation stamps deletedAt.
      await t.api
        .patch(`/api/v1/users/${user.userId}/status`)
        .set('authorization', admin.bearer)
        .set('if-match', '"2"')
        .send({ status: 'suspended' })
        .expect(200);
      await t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(401);
      expect(await t.getItem(`USER#${user.userId}`, 'USER')).not.toHaveProperty('deletedAt');
      await t.api
        .patch(`/api/v1/users/${user.userId}/status`)
        .set('authorization', admin.bearer)
        .set('if-match', '"3"')
        .send({ status: 'inactive' })
        .expect(200);
      expect(await t.getItem(`USER#${user.userId}`, 'USER')).toMatchObject({
        status: 'inactive',
        deletedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });
  });

  describe("an admin acting on another author's post", () => {
    it('edits, publishes, unpublishes and archives it; a moderator and another user may not', async () => {
      const post = await newPost('Admin edits this');
      const edited = await t.api
        .patch(`/api/v1/posts/${post.id}`)
        .set('authorization', admin.bearer)
        .set('if-match', '"1"')
        .send({ title: 'Edited by admin' })
        .expect(200);
      expect(edited.body).toMatchObject({ title: 'Edited by admin', authorId: author.userId, version: 2 });
      const published = await publish(post.id, admin).expect(200);
      expect(published.body).toMatchObject({ status: 'published', authorId: author.userId });
      expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.title).toBe('Edited by admin');
      expect(
        (await t.api.post(`/api/v1/posts/${post.id}/unpublish`).set('authorization', admin.bearer).expect(200)).body
          .status,
      ).toBe('draft');
      expect(
        (await t.api.post(`/api/v1/posts/${post.id}/archive`).set('authorization', admin.bearer).expect(200)).body
          .status,
      ).toBe('archived');

      // Staff see the post, so a refusal is 403 (not 404); another user does not even see it.
      const byModerator = await t.api
        .patch(`/api/v1/posts/${post.id}`)
        .set('authorization', moderator.bearer)
        .send({ title: 'Moderator edit' })
        .expect(403);
      expect(byModerator.body.code).toBe('not_post_author');
      expect((await publish(post.id, moderator).expect(403)).body.code).toBe('not_post_author');
      expect((await publish(post.id, reader).expect(404)).body.code).toBe('post_not_found');
      const stored = await t.getItem(`POST#${post.id}`, 'POST');
      expect(stored).toMatchObject({ title: 'Edited by admin', status: 'archived' });
    });
  });

  describe('expiry is checked on read, whatever TTL has done', () => {
    it('lists only live sessions', async () => {
      const user = await signUp(t);
      const phone = await t.api
        .post('/api/v1/auth/login')
        .set('user-agent', 'Phone')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const sessions = () => t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(200);
      expect((await sessions()).body.items).toHaveLength(2);
      await expire(`USER#${user.userId}`, `SESSION#${decodeJwt(phone.body.accessToken).sid as string}`);
      const listed = (await sessions()).body.items as { id: string; current: boolean }[];
      expect(listed).toEqual([expect.objectContaining({ id: decodeJwt(user.accessToken).sid, current: true })]);
    });

    it("binds a session page's cursor to its user: another user's cursor is refused", async () => {
      const user = await signUp(t);
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      const first = await t.api.get('/api/v1/auth/sessions?limit=1').set('authorization', user.bearer).expect(200);
      expect(first.body.items).toHaveLength(1);
      const cursor = first.body.nextCursor as string;
      expect(cursor).toEqual(expect.any(String));
      const next = await t.api
        .get(`/api/v1/auth/sessions?limit=1&cursor=${encodeURIComponent(cursor)}`)
        .set('authorization', user.bearer)
        .expect(200);
      expect(next.body.items).toHaveLength(1);
      expect(next.body.items[0].id).not.toBe(first.body.items[0].id);
      const other = await t.api
        .get(`/api/v1/auth/sessions?limit=1&cursor=${encodeURIComponent(cursor)}`)
        .set('authorization', reader.bearer)
        .expect(400);
      expect(other.body.code).toBe('invalid_cursor');
    });

    it('accepts a reset token of a user who changed their password before (the token carries the generation)', async () => {
      const user = await signUp(t);
      await t.api
        .post('/api/v1/auth/password')
        .set('authorization', user.bearer)
        .send({ currentPassword: user.password, newPassword: 'changed once 1' })
        .expect(204);
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      await t.mailSent();
      const token = t.mailer.tokenFor(user.email, 'password_reset');
      await t.api.post('/api/v1/auth/password-reset/confirm').send({ token, newPassword: 'reset after 1' }).expect(204);
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'reset after 1' }).expect(200);
    });

    it('refuses a password-reset token after its expiresAt, and the password stays', async () => {
      const user = await signUp(t);
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      await t.mailSent(); // the link is created and mailed after the answer
      const token = t.mailer.tokenFor(user.email, 'password_reset');
      expect(token).toEqual(expect.any(String));
      const [stored] = (await t.allItems()).filter((i) => i.kind === 'password_reset' && i.userId === user.userId);
      await expire(String(stored.PK), String(stored.SK));
      const res = await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token, newPassword: 'expired reset 1' })
        .expect(400);
      expect(res.body.code).toBe('invalid_or_expired_token');
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'expired reset 1' }).expect(401);
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);

      // The control: a live token is accepted once (a check that refused every token would pass the above).
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      await t.mailSent();
      const live = t.mailer.tokenFor(user.email, 'password_reset');
      expect(live).not.toBe(token);
      const confirm = () =>
        t.api.post('/api/v1/auth/password-reset/confirm').send({ token: live, newPassword: 'live reset 1' });
      await confirm().expect(204);
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'live reset 1' }).expect(200);
      expect((await confirm().expect(400)).body.code).toBe('invalid_or_expired_token');
    });

    it('refuses an email-verification token after its expiresAt, and the email stays unverified', async () => {
      const user = await signUp(t);
      await t.mailSent();
      const token = t.mailer.tokenFor(user.email, 'email_verification');
      expect(token).toEqual(expect.any(String));
      const [stored] = (await t.allItems()).filter((i) => i.kind === 'email_verification' && i.userId === user.userId);
      await expire(String(stored.PK), String(stored.SK));
      const res = await t.api.post('/api/v1/auth/verify-email/confirm').send({ token }).expect(400);
      expect(res.body.code).toBe('invalid_or_expired_token');
      expect(await t.getItem(`USER#${user.userId}`, 'USER')).toMatchObject({ emailVerified: false, status: 'pending' });
    });
  });

  describe('tags by use', () => {
    it('lists tags with sort=popular most used first, unlike the A-Z order', async () => {
      const names = ['Pop Alpha', 'Pop Bravo', 'Pop Charlie'];
      const uses = [1, 3, 2];
      const tags: { id: string; name: string }[] = [];
      for (const name of names)
        tags.push(
          (await t.api.post('/api/v1/tags').set('authorization', admin.bearer).send({ name }).expect(201)).body,
        );
      for (const [i, tag] of tags.entries()) {
        for (let n = 0; n < uses[i]; n++) {
          const post = await newPost(`Uses ${tag.name} ${n}`, { tagIds: [tag.id] });
          await publish(post.id).expect(200);
        }
      }
      const ours = new Set(tags.map((tag) => tag.id));
      const popular = await t.api.get('/api/v1/tags?sort=popular&limit=100').expect(200);
      const ranked = (popular.body.items as { id: string; name: string; postCount: number }[]).filter((tag) =>
        ours.has(tag.id),
      );
      expect(ranked.map((tag) => [tag.name, tag.postCount])).toEqual([
        ['Pop Bravo', 3],
        ['Pop Charlie', 2],
        ['Pop Alpha', 1],
      ]);
      // every listed tag is ranked: counts never rise down the list
      const counts = (popular.body.items as { postCount: number }[]).map((tag) => tag.postCount);
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      // ...unlike the default order, A-Z (a list that ranked by use for every sort would pass the above).
      const byName = await t.api.get('/api/v1/tags?limit=100').expect(200);
      const named = (byName.body.items as { id: string; name: string }[]).filter((tag) => ours.has(tag.id));
      expect(named.map((tag) => tag.name)).toEqual(['Pop Alpha', 'Pop Bravo', 'Pop Charlie']);
    });
  });

  describe('likes', () => {
    it('counts a sequential double unlike once: the count never goes below the likes that exist', async () => {
      const post = await newPost('Unliked twice');
      await publish(post.id).expect(200);
      const like = (as: SignedIn) => t.api.put(`/api/v1/posts/${post.id}/like`).set('authorization', as.bearer);
      const unlike = (as: SignedIn) => t.api.delete(`/api/v1/posts/${post.id}/like`).set('authorization', as.bearer);
      // Each answer is the count read plus the call's own change: the stream folds the like shards
      // into the count read (src/posts/like-shards.ts), so it runs between the calls here.
      const folded = async <T>(answer: Promise<T>): Promise<T> => {
        const result = await answer;
        await t.mailSent();
        return result;
      };
      expect((await folded(like(reader).expect(200))).body).toEqual({ liked: true, likeCount: 1 });
      expect((await folded(like(author).expect(200))).body).toEqual({ liked: true, likeCount: 2 });
      expect((await folded(unlike(reader).expect(200))).body).toEqual({ liked: false, likeCount: 1 });
      expect((await folded(unlike(reader).expect(200))).body).toEqual({ liked: false, likeCount: 1 });
      expect((await folded(like(reader).expect(200))).body).toEqual({ liked: true, likeCount: 2 });
      expect((await folded(like(reader).expect(200))).body).toEqual({ liked: true, likeCount: 2 });
      const likes = await t.postLikes(post.id);
      expect(likes.map((i) => i.userId).sort()).toEqual([author.userId, reader.userId].sort());
      expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.likeCount).toBe(2);
    });
  });
});
