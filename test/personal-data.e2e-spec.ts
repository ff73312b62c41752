import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addCallHook } from '../src/dynamo/dynamo-client.factory.js';
import { DYNAMODB_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { batchWriteAll } from '../src/dynamo/batch.js';
import { CommentIndexKeys, ENTITY, Keys } from '../src/dynamo/keys.js';
import { toFollowCountsItem, toFollowItem } from '../src/follows/follow-items.js';
import { PostsService } from '../src/posts/posts.service.js';
import { toUserItem } from '../src/users/users.repository.js';
import { UserErasureWorkflow } from '../src/workflows/user-erasure.workflow.js';
import { CHILD_PROCESS_TIMEOUT_MS, runBuiltCommand } from './helpers/built-scripts.js';
import { processStream } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  seededUser,
  signInAdmin,
  signUp,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

describe('personal data: export and self-erasure (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...ADMIN_ENV, COMMENT_AUTO_APPROVE: 'all' });
  });
  afterAll(() => t.close());

  /** Two users who interact: each posts, comments on the other's post and likes it. */
  async function twoUsers() {
    const alice = await signUp(t, { username: `alice_${Math.random().toString(36).slice(2, 8)}` });
    const bob = await signUp(t);
    const post = async (user: SignedIn, title: string, key?: string) => {
      const req = t.api.post('/api/v1/posts').set('authorization', user.bearer);
      if (key) void req.set('idempotency-key', key);
      const res = await req.send({ title, content: `${title}: the whole text` }).expect(201);
      await t.api.post(`/api/v1/posts/${res.body.id}/publish`).set('authorization', user.bearer).send({}).expect(200);
      return res.body.id as string;
    };
    const alicePost = await post(alice, 'Alice writes', 'alice-key-1');
    const bobPost = await post(bob, 'Bob writes');
    const comment = async (user: SignedIn, postId: string, content: string) =>
      (
        await t.api
          .post(`/api/v1/posts/${postId}/comments`)
          .set('authorization', user.bearer)
          .send({ content })
          .expect(201)
      ).body.id as string;
    const aliceComment = await comment(alice, bobPost, 'Alice comments on Bob');
    const bobComment = await comment(bob, alicePost, 'Bob comments on Alice');
    await t.api.put(`/api/v1/posts/${bobPost}/like`).set('authorization', alice.bearer).expect(200);
    await t.api.put(`/api/v1/posts/${alicePost}/like`).set('authorization', bob.bearer).expect(200);
    await t.api
      .put(`/api/v1/posts/${alicePost}/comments/${bobComment}/like`)
      .set('authorization', alice.bearer)
      .expect(200);
    // A second device.
    await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password }).expect(200);
    return { alice, bob, alicePost, bobPost, aliceComment, bobComment };
  }

  it('GET /users/me/export holds everything about the caller and nothing about anyone else', async () => {
    const { alice, bob, alicePost, bobPost, aliceComment, bobComment } = await twoUsers();
    await t.mailSent(); // the stream processor mints the verification links (issue 17)
    const res = await t.api.get('/api/v1/users/me/export').set('authorization', alice.bearer).expect(200);
    const data = res.body;

    expect(data.account).toMatchObject({ id: alice.userId, email: alice.email });
    expect(data.profile).toMatchObject({ version: 1 });
    expect(data.sessions).toHaveLength(2);
    expect(data.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(data.posts).toEqual([
      expect.objectContaining({ id: alicePost, authorId: alice.userId, content: 'Alice writes: the whole text' }),
    ]);
    expect(data.comments).toEqual([
      expect.objectContaining({ id: aliceComment, postId: bobPost, content: 'Alice comments on Bob' }),
    ]);
    expect(data.likes).toEqual([{ postId: bobPost, likedAt: expect.any(String) }]);
    expect(data.commentLikes).toEqual([{ postId: alicePost, commentId: bobComment }]);
    expect(data.actionTokens).toEqual([expect.objectContaining({ kind: 'email_verification', email: alice.email })]);
    expect(data.idempotencyKeys).toEqual([{ key: 'alice-key-1', postId: alicePost }]);
    expect(data.follows).toEqual({ following: [], followers: [] });

    const text = JSON.stringify(data);
    for (const foreign of [bob.userId, bob.email, 'Bob comments on Alice', 'Bob writes: the whole text'])
      expect(text).not.toContain(foreign);
    for (const internal of ['"PK"', '"SK"', 'GSI', 'passwordHash', 'refreshTokenHash', 'requestHash'])
      expect(text).not.toContain(internal);
  });

  it('GET /users/me/export lists whom the caller follows and who follows them, every page of both', async () => {
    const alice = await signUp(t);
    const bobName = `bob_${Math.random().toString(36).slice(2, 8)}`;
    const bob = await signUp(t, { username: bobName });
    const carol = await signUp(t);
    const gone = await signUp(t);
    const follow = (who: SignedIn, whom: SignedIn) =>
      t.api.put(`/api/v1/users/${whom.userId}/follow`).set('authorization', who.bearer).expect(200);
    await follow(alice, bob);
    await follow(alice, carol);
    await follow(alice, gone);
    await follow(bob, alice);
    // A deactivated account is left out, as the public listings leave it out.
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', gone.bearer)
      .send({ password: gone.password })
      .expect(204);
    // More followers than one listing page (100): 120 seeded users, with the follows' own item
    // builders, so the export has to drain the listing page by page.
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const fans = Array.from({ length: 120 }, (_, n) =>
      seededUser(
        `pdfan${alice.userId.slice(-6)}${String(n).padStart(6, '0')}`,
        new Date(base + n * 1000).toISOString(),
      ),
    );
    await batchWriteAll(t.db, t.tableName, [
      ...fans.flatMap((fan) => [
        { PutRequest: { Item: toUserItem(fan) } },
        { PutRequest: { Item: toFollowItem(fan.id, alice.userId, fan.createdAt) } },
        { PutRequest: { Item: toFollowCountsItem(fan.id, { followerCount: 0, followingCount: 1 }) } },
      ]),
    ]);

    const data = (await t.api.get('/api/v1/users/me/export').set('authorization', alice.bearer).expect(200)).body;
    const ids = (entries: { id: string }[]) => entries.map((entry) => entry.id);
    expect(new Set(ids(data.follows.following))).toEqual(new Set([bob.userId, carol.userId]));
    expect(data.follows.following).toContainEqual({
      id: bob.userId,
      username: bobName,
      followedAt: expect.any(String),
    });
    expect(data.follows.followers).toHaveLength(121);
    expect(new Set(ids(data.follows.followers))).toEqual(new Set([bob.userId, ...fans.map((fan) => fan.id)]));
    expect(data.follows.followers).toContainEqual(
      expect.objectContaining({ id: fans[0].id, username: fans[0].username }),
    );
    expect(JSON.stringify(data.follows)).not.toContain(gone.userId);
    // Both sides' public view agrees with the export.
    const publicFollowing = (
      await t.api.get(`/api/v1/users/${alice.userId}/following?limit=100`).expect(200)
    ).body.items.map((entry: { id: string }) => entry.id);
    expect(new Set(publicFollowing)).toEqual(new Set(ids(data.follows.following)));
  });

  it('DELETE /users/me?mode=erase needs the current password, then leaves nothing that names the user', async () => {
    const { alice, bob, alicePost, aliceComment, bobPost } = await twoUsers();
    const me = (await t.api.get('/api/v1/users/me').set('authorization', alice.bearer).expect(200)).body;
    const before = (await t.allItems()).length;

    const missing = await t.api.delete('/api/v1/users/me?mode=erase').set('authorization', alice.bearer).expect(400);
    expect(missing.body.code).toBe('password_required');
    const wrong = await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', alice.bearer)
      .send({ password: 'not-her-password' })
      .expect(403);
    expect(wrong.body.code).toBe('wrong_password');
    expect((await t.allItems()).length).toBe(before);

    // A pointer whose comment never came (a create that crashed after writing it) names her on
    // GSI6: the erasure removes it too.
    const orphanId = `orphan${Math.random().toString(36).slice(2, 10)}`;
    const orphanPath = `2026-01-01T00:00:00.000Z_${orphanId}`;
    await t.db.send(
      new PutCommand({
        TableName: t.tableName,
        Item: {
          ...Keys.commentPointer(bobPost, orphanId),
          entity: ENTITY.CommentPointer,
          path: orphanPath,
          ...CommentIndexKeys.commenter({
            authorId: alice.userId,
            status: 'approved',
            createdAt: '2026-01-01T00:00:00.000Z',
            id: orphanId,
          }),
        },
      }),
    );

    await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', alice.bearer)
      .send({ password: alice.password })
      .expect(204);
    await processStream(t); // the account's sessions, profile and owned items go after the request

    const names = [alice.userId, alice.email, me.username as string];
    const leftovers = (await t.allItems()).filter((item) => names.some((name) => JSON.stringify(item).includes(name)));
    expect(leftovers).toEqual([]);
    await t.api.get('/api/v1/users/me').set('authorization', alice.bearer).expect(401);
    await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password }).expect(401);

    // Content stays, credited to deleted-user, with exact counts; Bob is untouched.
    const post = await t.api.get(`/api/v1/posts/${alicePost}`).expect(200);
    expect(post.body).toMatchObject({ authorId: 'deleted-user', likeCount: 1, commentCount: 1 });
    const bobsPost = await t.api.get(`/api/v1/posts/${bobPost}`).expect(200);
    expect(bobsPost.body).toMatchObject({ likeCount: 0, commentCount: 1 });
    const thread = await t.api.get(`/api/v1/posts/${bobPost}/comments`).expect(200);
    expect(thread.body.items).toEqual([expect.objectContaining({ id: aliceComment, authorId: 'deleted-user' })]);
    await t.api.get('/api/v1/users/me').set('authorization', bob.bearer).expect(200);
  });

  /**
   * The app's next transaction that deletes the user item of `userId` (an erasure's last step)
   * fails as DynamoDB answers a throttled request (the client's call hook, either transport): the
   * erasure stops after its suspension and its content walk, as a throttle, a timeout or a dying
   * process leaves it. Returns the hook's removal.
   */
  function throttleNextEraseOf(userId: string): () => void {
    const plain = (value: unknown) => (typeof value === 'object' && value !== null && 'S' in value ? value.S : value);
    let fired = false;
    return addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (_command, input) => {
      const items = (input as { TransactItems?: { Delete?: { Key?: Record<string, unknown> } }[] }).TransactItems;
      const erases = (items ?? []).some(
        (item) => plain(item.Delete?.Key?.PK) === `USER#${userId}` && plain(item.Delete?.Key?.SK) === 'USER',
      );
      if (!erases || fired) return;
      fired = true;
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    });
  }

  /**
   * Starts a self-erasure (or with `admin`, that admin's hard delete) that fails at its last step
   * (see `throttleNextEraseOf`).
   */
  async function failedErasure(user: SignedIn, admin?: SignedIn) {
    const remove = throttleNextEraseOf(user.userId);
    try {
      await (
        admin
          ? t.api.delete(`/api/v1/users/${user.userId}?mode=hard`).set('authorization', admin.bearer)
          : t.api
              .delete('/api/v1/users/me?mode=erase')
              .set('authorization', user.bearer)
              .send({ password: user.password })
      ).expect(503);
    } finally {
      remove();
    }
    return (await t.getItem(`USER#${user.userId}`, 'USER'))!;
  }

  /** Dates the erasure marker of `userId` back, as if its erase had been asked for `minutes` ago. */
  async function askedForMinutesAgo(userId: string, minutes: number): Promise<void> {
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: { PK: `USER#${userId}`, SK: 'USER' },
        UpdateExpression: 'SET erasureRequestedAt = :at',
        ConditionExpression: 'attribute_exists(erasureRequestedAt)',
        ExpressionAttributeValues: { ':at': new Date(Date.now() - minutes * 60_000).toISOString() },
      }),
    );
  }

  /** A published post of `user`'s; its author is read back to see whether an erase walk moved it. */
  async function publishedPost(user: SignedIn): Promise<string> {
    const res = await t.api
      .post('/api/v1/posts')
      .set('authorization', user.bearer)
      .send({ title: 'Mine until erased', content: 'text' })
      .expect(201);
    await t.api.post(`/api/v1/posts/${res.body.id}/publish`).set('authorization', user.bearer).send({}).expect(200);
    return res.body.id as string;
  }
  const authorOf = async (postId: string): Promise<string> =>
    (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.authorId as string;

  /**
   * An admin's hard delete of `user` whose content walk fails at its first read (every Query naming
   * the user): the account is suspended and marked, and its content still its own.
   */
  async function erasureStoppedBeforeTheWalk(user: SignedIn): Promise<void> {
    const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command, input) => {
      if (command === 'QueryCommand' && JSON.stringify(input).includes(user.userId))
        throw Object.assign(new Error('the walk fails'), { name: 'InternalServerError' });
    });
    try {
      await expect(t.app.get(UserErasureWorkflow).erase(user.userId)).rejects.toThrow('the walk fails');
    } finally {
      remove();
    }
  }

  it('an admin cannot revive an account while the sweep walks its content: 409 erasure_pending, and the sweep finishes it (session 19)', async () => {
    const admin = await signInAdmin(t);
    const gina = await signUp(t);
    const post = await publishedPost(gina);
    await erasureStoppedBeforeTheWalk(gina);
    expect(await authorOf(post)).toBe(gina.userId);
    // The sweep's erase (users:finish-erasures) found the marker; the admin's move to active comes
    // as the walk begins (the interleaving made certain: the walk waits for the admin's answer).
    const posts = t.app.get(PostsService);
    const walk = posts.anonymiseAuthor.bind(posts);
    let revive: { status: number; body: { code?: string } } | undefined;
    const held = jest.spyOn(posts, 'anonymiseAuthor').mockImplementationOnce(async (userId: string) => {
      revive = await t.api
        .patch(`/api/v1/users/${userId}/status`)
        .set('authorization', admin.bearer)
        .send({ status: 'active' });
      return walk(userId);
    });
    let finished: boolean;
    try {
      finished = await t.app.get(UserErasureWorkflow).finishMarkedErasure(gina.userId);
    } finally {
      held.mockRestore();
    }
    expect({ status: revive?.status, code: revive?.body.code }).toEqual({ status: 409, code: 'erasure_pending' });
    // Never a revived account whose content went to deleted-user: the erase finished.
    expect(finished).toBe(true);
    expect(await t.getItem(`USER#${gina.userId}`, 'USER')).toBeUndefined();
    expect(await authorOf(post)).toBe('deleted-user');
  });

  it("an admin's soft delete (DELETE /users/{id}) of an account whose erasure is pending: 409 erasure_pending, like PATCH status; the owner can still sign in to retry (review 19b L3)", async () => {
    const admin = await signInAdmin(t);
    const owner = await signUp(t);
    await erasureStoppedBeforeTheWalk(owner);
    const soft = await t.api.delete(`/api/v1/users/${owner.userId}`).set('authorization', admin.bearer);
    expect({ status: soft.status, code: soft.body.code }).toEqual({ status: 409, code: 'erasure_pending' });
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ status: 'suspended', erasureSignIn: true });
    await t.api.post('/api/v1/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
  });

  it("the owner's retry and an admin's move to active or inactive, in parallel: the erase finishes, the admin's change is 409 erasure_pending (or 404 once gone), never 200 (session 19)", async () => {
    const admin = await signInAdmin(t);
    for (const status of ['active', 'inactive', 'active']) {
      const owner = await signUp(t);
      const post = await publishedPost(owner);
      await erasureStoppedBeforeTheWalk(owner);
      const signIn = await t.api.post('/api/v1/auth/login').send({ email: owner.email, password: owner.password });
      const [retry, change] = await Promise.all([
        t.api
          .delete('/api/v1/users/me?mode=erase')
          .set('authorization', `Bearer ${signIn.body.accessToken as string}`)
          .send({ password: owner.password }),
        t.api.patch(`/api/v1/users/${owner.userId}/status`).set('authorization', admin.bearer).send({ status }),
      ]);
      expect(retry.status).toBe(204);
      expect([
        { status: 409, code: 'erasure_pending' },
        { status: 404, code: 'user_not_found' },
      ]).toContainEqual({ status: change.status, code: change.body.code });
      expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toBeUndefined();
      expect(await authorOf(post)).toBe('deleted-user');
    }
  });

  it('an erasure that failed midway leaves the account suspended and marked; its owner signs in again to retry it, and can do nothing else (review 17a L1)', async () => {
    const { alice, alicePost } = await twoUsers();
    const stuck = await failedErasure(alice);
    expect(stuck).toMatchObject({ status: 'suspended', erasureRequestedAt: expect.any(String) });
    // The content walk ran; the suspension ended every session.
    expect((await t.api.get(`/api/v1/posts/${alicePost}`).expect(200)).body.authorId).toBe('deleted-user');
    expect((await t.api.get('/api/v1/users/me').set('authorization', alice.bearer).expect(401)).body.code).toBe(
      'session_revoked',
    );

    const signIn = await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password });
    expect(signIn.status).toBe(200);
    const first = `Bearer ${signIn.body.accessToken as string}`;
    // The new session may retry the erase, nothing else: not a read, not a post, not a deactivation.
    for (const refused of [
      t.api.get('/api/v1/users/me').set('authorization', first),
      t.api.post('/api/v1/posts').set('authorization', first).send({ title: 'Behind', content: 'the walk' }),
      t.api.delete('/api/v1/users/me').set('authorization', first).send({ password: alice.password }),
    ]) {
      const res = await refused;
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'account_suspended' });
    }
    // Review 18d L2: the owner can end the sessions opened for the retry (sign out, and everywhere).
    const another = await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password });
    await t.api
      .post('/api/v1/auth/logout')
      .set('authorization', `Bearer ${another.body.accessToken as string}`)
      .expect(204);
    await t.api.post('/api/v1/auth/refresh').send({ refreshToken: another.body.refreshToken }).expect(401);
    await t.api.post('/api/v1/auth/logout-all').set('authorization', first).expect(204);
    await t.api.post('/api/v1/auth/refresh').send({ refreshToken: signIn.body.refreshToken }).expect(401);
    const retry = await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password });
    const bearer = `Bearer ${retry.body.accessToken as string}`;
    await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', bearer)
      .send({ password: 'not-her-password' })
      .expect(403);
    await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', bearer)
      .send({ password: alice.password })
      .expect(204);
    expect(await t.getItem(`USER#${alice.userId}`, 'USER')).toBeUndefined();
    await t.api.post('/api/v1/auth/login').send({ email: alice.email, password: alice.password }).expect(401);
  });

  it('while its erasure is pending the owner lists and ends its sessions; admins see erasureRequestedAt, nobody else does; a Conduit client that signs in gets 403 on every route (session 19)', async () => {
    const admin = await signInAdmin(t);
    const ivy = await signUp(t);
    const other = await signUp(t);
    const stuck = await failedErasure(ivy);
    const signIn = () =>
      t.api.post('/api/v1/auth/login').send({ email: ivy.email, password: ivy.password }).expect(200);
    const first = await signIn();
    const second = await signIn();
    const bearer = `Bearer ${first.body.accessToken as string}`;
    // The owner sees the sessions opened for the retry and ends one (the sign-in's answer shows no marker).
    expect(first.body.user).not.toHaveProperty('erasureRequestedAt');
    const sessions = await t.api.get('/api/v1/auth/sessions').set('authorization', bearer).expect(200);
    expect(sessions.body.items).toHaveLength(2);
    const secondId = (sessions.body.items as { id: string; current: boolean }[]).find((s) => !s.current)!.id;
    await t.api.delete(`/api/v1/auth/sessions/${secondId}`).set('authorization', bearer).expect(204);
    await t.api.post('/api/v1/auth/refresh').send({ refreshToken: second.body.refreshToken }).expect(401);
    expect((await t.api.get('/api/v1/auth/sessions').set('authorization', bearer).expect(200)).body.items).toEqual([
      expect.objectContaining({ current: true }),
    ]);

    // Admins see the marker in their views of the user (the listing, the status answer); only there.
    const listed = async (id: string) => {
      for (let cursor: string | undefined; ;) {
        const page = await t.api
          .get(`/api/v1/users?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
          .set('authorization', admin.bearer)
          .expect(200);
        const found = (page.body.items as { id: string }[]).find((user) => user.id === id);
        if (found || !page.body.nextCursor) return found;
        cursor = page.body.nextCursor as string;
      }
    };
    expect(await listed(ivy.userId)).toMatchObject({
      status: 'suspended',
      erasureRequestedAt: stuck.erasureRequestedAt,
    });
    expect(await listed(other.userId)).not.toHaveProperty('erasureRequestedAt');
    const unchanged = await t.api
      .patch(`/api/v1/users/${ivy.userId}/status`)
      .set('authorization', admin.bearer)
      .send({ status: 'suspended' })
      .expect(200);
    expect(unchanged.body).toMatchObject({ status: 'suspended', erasureRequestedAt: stuck.erasureRequestedAt });
    const publicView = await t.api.get(`/api/v1/users/${ivy.userId}`).set('authorization', other.bearer).expect(200);
    expect(publicView.body).not.toHaveProperty('erasureRequestedAt');
    await t.api.get('/api/v1/users').set('authorization', other.bearer).expect(403);

    // A Conduit client signs in (it has no erase route): every route it calls with the token is 403.
    const conduit = await t.api
      .post('/api/users/login')
      .send({ user: { email: ivy.email, password: ivy.password } })
      .expect(200);
    const token = `Token ${(conduit.body as { user: { token: string } }).user.token}`;
    const erasing = {
      errors: { body: [expect.stringContaining('The account is being erased')] },
      code: 'account_suspended',
    };
    for (const call of [
      t.api.get('/api/user').set('authorization', token),
      t.api
        .put('/api/user')
        .set('authorization', token)
        .send({ user: { bio: 'still here' } }),
      t.api
        .post('/api/articles')
        .set('authorization', token)
        .send({ article: { title: 'Behind', description: 'the', body: 'walk' } }),
      t.api.get('/api/articles').set('authorization', token),
      t.api.get('/api/articles/feed').set('authorization', token),
    ]) {
      const res = await call;
      expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 403, body: erasing });
    }
  });

  it('a pending account whose erasure is stuck is not replaced as a stale registration (review 17a L1)', async () => {
    const carol = await signUp(t);
    await failedErasure(carol);
    // Older than any PENDING_ACCOUNT_TTL_HOURS: a pending account this old would be replaced.
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: { PK: `USER#${carol.userId}`, SK: 'USER' },
        UpdateExpression: 'SET createdAt = :old',
        ExpressionAttributeValues: { ':old': '2020-01-01T00:00:00.000Z' },
      }),
    );
    const res = await t.api.post('/api/v1/auth/register').send({ email: carol.email, password: 'password-1234' });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'email_taken' });
    expect(await t.getItem(`USER#${carol.userId}`, 'USER')).toMatchObject({
      status: 'suspended',
      erasureRequestedAt: expect.any(String),
    });
  });

  it(
    'npm run users:finish-erasures finishes an erasure left for longer than --older-than-minutes; --dry-run only lists (review 17a L1)',
    async () => {
      const dave = await signUp(t);
      await failedErasure(dave);
      // Session 19: an admin can no longer revive it (409 erasure_pending): the owner's request stands.
      const admin = await signInAdmin(t);
      const erin = await signUp(t);
      await failedErasure(erin);
      const revive = await t.api
        .patch(`/api/v1/users/${erin.userId}/status`)
        .set('authorization', admin.bearer)
        .send({ status: 'active' });
      expect({ status: revive.status, code: revive.body.code }).toEqual({ status: 409, code: 'erasure_pending' });
      expect(await t.getItem(`USER#${erin.userId}`, 'USER')).toMatchObject({
        status: 'suspended',
        erasureRequestedAt: expect.any(String),
        erasureSignIn: true,
      });
      // Review 18d M1: an account an admin suspended, whose hard delete then failed midway, gains the
      // marker but stays shut: its owner cannot sign in (nor erase it); the sweep finishes the erase.
      const frank = await signUp(t);
      await t.api
        .patch(`/api/v1/users/${frank.userId}/status`)
        .set('authorization', admin.bearer)
        .send({ status: 'suspended' })
        .expect(200);
      expect(await failedErasure(frank, admin)).toMatchObject({
        status: 'suspended',
        erasureRequestedAt: expect.any(String),
      });
      const shut = await t.api.post('/api/v1/auth/login').send({ email: frank.email, password: frank.password });
      expect({ status: shut.status, code: shut.body.code }).toEqual({ status: 403, code: 'account_suspended' });
      const finish = (...args: string[]) =>
        runBuiltCommand('finish-erasures', args, { endpoint: t.config.dynamo.endpoint, tableName: t.tableName });
      // Asked for just now: younger than the default hour, left to the erase that may still run.
      const young = await finish('--dry-run');
      expect(young.code).toBe(0);
      expect(young.output).not.toContain(dave.userId);
      // Session 19: below the safe minimum is a usage error, nothing scanned.
      const tooYoung = await finish('--dry-run', '--older-than-minutes', '0');
      expect(tooYoung.code).toBe(2);
      expect(tooYoung.output).toContain('--older-than-minutes must be at least 10');
      expect(tooYoung.output).not.toContain('Scanned');
      // Asked for 15 minutes ago: past the minimum of 10.
      for (const { userId } of [dave, erin, frank]) await askedForMinutesAgo(userId, 15);
      const dry = await finish('--dry-run', '--older-than-minutes', '10');
      expect(dry.code).toBe(0);
      expect(dry.output).toContain(dave.userId);
      expect(await t.getItem(`USER#${dave.userId}`, 'USER')).toBeDefined();

      const run = await finish('--older-than-minutes', '10');
      // Every stuck erasure of the table that old goes (an earlier test's too), these among them.
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/Finished [1-9]/);
      expect(await t.getItem(`USER#${dave.userId}`, 'USER')).toBeUndefined();
      await t.api.post('/api/v1/auth/login').send({ email: dave.email, password: dave.password }).expect(401);
      expect(await t.getItem(`USER#${erin.userId}`, 'USER')).toBeUndefined();
      expect(await t.getItem(`USER#${frank.userId}`, 'USER')).toBeUndefined();
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it('refuses to erase the last active admin, as the admin hard delete does', async () => {
    const admin = await signInAdmin(t);
    const res = await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', admin.bearer)
      .send({ password: admin.password })
      .expect(409);
    expect(res.body.code).toBe('last_admin');
    await t.api.get('/api/v1/users/me').set('authorization', admin.bearer).expect(200);
  });
});

describe('personal data export: bounded and rate limited (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      EXPORT_MAX_ITEMS: '3',
      EXPORT_RATE_MAX_PER_ACCOUNT: '3',
      EXPORT_MAX_CONTENT_CHARS: '2048',
    });
  });
  afterAll(() => t.close());

  const draft = (user: SignedIn, title: string) =>
    t.api.post('/api/v1/posts').set('authorization', user.bearer).send({ title, content: 'text' }).expect(201);

  it('refuses a collection past EXPORT_MAX_ITEMS with 422 export_too_large, and more than EXPORT_RATE_MAX_PER_ACCOUNT exports with 429', async () => {
    const [writer, other] = await Promise.all([signUp(t), signUp(t)]);
    for (let i = 0; i < 3; i++) await draft(writer, `Draft ${i}`);
    const full = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(200);
    expect(full.body.posts).toHaveLength(3);

    await draft(writer, 'One too many');
    const tooLarge = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(422);
    expect(tooLarge.body).toMatchObject({ code: 'export_too_large', detail: expect.stringContaining('3 posts') });
    await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(422);
    // The fourth export of the window is refused before anything is read; refusals count.
    const limited = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(429);
    expect(limited.body).toMatchObject({ code: 'too_many_requests' });
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    // Per account: another account still exports.
    await t.api.get('/api/v1/users/me/export').set('authorization', other.bearer).expect(200);
  });

  it('refuses post contents past EXPORT_MAX_CONTENT_CHARS (as JSON) with 422, before building the answer (review 5, #1)', async () => {
    const writer = await signUp(t);
    // 600 quotes are 1,202 characters as JSON: two such posts pass the 2,048 of this app.
    const quoted = '"'.repeat(600);
    await t.api
      .post('/api/v1/posts')
      .set('authorization', writer.bearer)
      .send({ title: 'One', content: quoted })
      .expect(201);
    expect(
      (await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(200)).body.posts,
    ).toEqual([expect.objectContaining({ content: quoted })]);
    await t.api
      .post('/api/v1/posts')
      .set('authorization', writer.bearer)
      .send({ title: 'Two', content: quoted })
      .expect(201);
    const tooLarge = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(422);
    expect(tooLarge.body).toMatchObject({
      code: 'export_too_large',
      detail: expect.stringContaining('EXPORT_MAX_CONTENT_CHARS'),
    });
  });

  it('spends one content budget on posts and comments together (review 5, #1: comments had none)', async () => {
    const writer = await signUp(t);
    // 600 quotes are 1,202 characters as JSON: the post alone fits the 2,048 of this app.
    const quoted = '"'.repeat(600);
    const post = await t.api
      .post('/api/v1/posts')
      .set('authorization', writer.bearer)
      .send({ title: 'Quoted', content: quoted })
      .expect(201);
    await t.api.post(`/api/v1/posts/${post.body.id}/publish`).set('authorization', writer.bearer).send({}).expect(200);
    await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(200);
    // A comment of the same text: together they pass it, though each section alone would fit.
    await t.api
      .post(`/api/v1/posts/${post.body.id}/comments`)
      .set('authorization', writer.bearer)
      .send({ content: quoted })
      .expect(201);
    const tooLarge = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(422);
    expect(tooLarge.body).toMatchObject({ code: 'export_too_large', detail: expect.stringContaining('comments') });
  });

  it('caps the idempotency records an export reads at EXPORT_MAX_ITEMS too (review 5, #9: read in full before)', async () => {
    const writer = await signUp(t);
    for (let i = 0; i < 4; i++) {
      await t.api
        .post('/api/v1/posts')
        .set('authorization', writer.bearer)
        .set('idempotency-key', `export-cap-${i}`)
        .send({ title: `Keyed ${i}`, content: 'text' })
        .expect(201);
    }
    const tooLarge = await t.api.get('/api/v1/users/me/export').set('authorization', writer.bearer).expect(422);
    // The account's section is read first: its records stop the export before the posts do.
    expect(tooLarge.body).toMatchObject({
      code: 'export_too_large',
      detail: expect.stringContaining('3 links and idempotency records'),
    });
  });
});
