import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeJwt } from './helpers/jwt.js';
import { captureLogs } from './helpers/log-capture.js';
import { createTestApp, dynamoCost, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

describe('sessions: cap, absolute lifetime, pagination, reuse (e2e)', () => {
  let t: TestApp;
  // Hooks run in the order they are declared: the capture starts before the app and checks its
  // lines after the app closed. Inside the describe, it captures this spec only, not the others of
  // its grouped file (test/jwt-sessions.e2e-spec.ts).
  afterAll(async () => {
    await t.close();
  });
  captureLogs(['password-1234']);
  beforeAll(async () => {
    t = await createTestApp({ MAX_SESSIONS_PER_USER: '3', SESSION_MAX_AGE_SECONDS: '600' });
  });

  const login = (user: SignedIn, device: string) =>
    t.api.post('/api/v1/auth/login').set('user-agent', device).send({ email: user.email, password: user.password });
  const refresh = (refreshToken: string) => t.api.post('/api/v1/auth/refresh').send({ refreshToken });
  const sessions = (bearer: string, query = '') =>
    t.api.get(`/api/v1/auth/sessions${query}`).set('authorization', bearer);

  it('keeps at most MAX_SESSIONS_PER_USER sessions: a new sign-in evicts the one created first', async () => {
    const user = await signUp(t); // the first session
    const devices = [];
    for (const device of ['Phone', 'Tablet', 'Laptop']) devices.push((await login(user, device).expect(200)).body);
    expect((await sessions(user.bearer).expect(401)).body.code).toBe('session_revoked');
    await refresh(user.refreshToken).expect(401);
    const listed = await sessions(`Bearer ${devices[2].accessToken}`).expect(200);
    expect(listed.body.items.map((s: { userAgent: string }) => s.userAgent).sort()).toEqual([
      'Laptop',
      'Phone',
      'Tablet',
    ]);
    const stored = (await t.queryPartition(`USER#${user.userId}`)).filter((i) => String(i.SK).startsWith('SESSION#'));
    expect(stored).toHaveLength(3);
  });

  const storedSessions = async (userId: string) =>
    (await t.queryPartition(`USER#${userId}`)).filter((i) => String(i.SK).startsWith('SESSION#'));
  const signInItem = async (userId: string) => (await t.getItem(`USER#${userId}`, 'USER#LOGIN'))!;

  it('counts sessions on the sign-in item: under the cap a sign-in reads no session, at the cap it counts once', async () => {
    const user = await signUp(t); // the registration's session: the user item says so, no sign-in item yet
    // The login-ip counter, the email item, the user and sign-in items, the transaction.
    expect(dynamoCost(await login(user, 'Phone').expect(200))).toMatchObject({ calls: 4 });
    expect(await signInItem(user.userId)).toMatchObject({ sessionCount: 2, loginCount: 1, sessionCountLogins: 1 });
    expect(dynamoCost(await login(user, 'Tablet').expect(200))).toMatchObject({ calls: 4 });
    expect(await signInItem(user.userId)).toMatchObject({ sessionCount: 3, loginCount: 2, sessionCountLogins: 2 });
    // At the cap: one Query of the session keys, and the eviction in the session's transaction.
    expect(dynamoCost(await login(user, 'Laptop').expect(200))).toMatchObject({ calls: 5 });
    expect(await signInItem(user.userId)).toMatchObject({ sessionCount: 3, loginCount: 3, sessionCountLogins: 3 });
    const left = await storedSessions(user.userId);
    expect(left).toHaveLength(3);
    expect(left.map((s) => s.userAgent).sort()).toEqual(['Laptop', 'Phone', 'Tablet']);
  });

  it('a count that over-states (a signed-out device) makes the sign-in count again, never evict a live session', async () => {
    const user = await signUp(t);
    const sid = (res: { body: { accessToken: string } }) => decodeJwt(res.body.accessToken).sid as string;
    const phone = await login(user, 'Phone').expect(200);
    const tablet = await login(user, 'Tablet').expect(200);
    await t.api.post('/api/v1/auth/logout').set('authorization', `Bearer ${tablet.body.accessToken}`).expect(204);
    // The count still says 3 (a sign-out does not lower it): the sign-in counts 2 live sessions and evicts none.
    const laptop = await login(user, 'Laptop').expect(200);
    expect(dynamoCost(laptop)).toMatchObject({ calls: 5 });
    expect((await storedSessions(user.userId)).map((s) => s.id).sort()).toEqual(
      [sid({ body: user }), sid(phone), sid(laptop)].sort(),
    );
    expect(await signInItem(user.userId)).toMatchObject({ sessionCount: 3 });
  });

  it('a sign-in that did not count (an older version of the app) makes the next one count the sessions', async () => {
    const user = await signUp(t);
    await login(user, 'Phone').expect(200); // counted: 2
    // What an older version writes for a sign-in: a session, and only `ADD loginCount` on the sign-in item.
    for (const id of ['oldapp0000000000000a', 'oldapp0000000000000b']) {
      const now = new Date().toISOString();
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: {
            PK: `USER#${user.userId}`,
            SK: `SESSION#${id}`,
            entity: 'Session',
            id,
            userId: user.userId,
            userAgent: 'Old app',
            createdAt: now,
            lastUsedAt: now,
            expiresAt: new Date(Date.now() + 3600_000).toISOString(),
            ttl: Math.floor(Date.now() / 1000) + 3600,
            refreshTokenHash: 'x',
            previousTokenHashes: [],
            generation: 0,
          },
        }),
      );
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${user.userId}`, SK: 'USER#LOGIN' },
          UpdateExpression: 'ADD loginCount :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    }
    // 4 live sessions while the count says 2: the next sign-in does not trust it and counts.
    expect(dynamoCost(await login(user, 'Laptop').expect(200))).toMatchObject({ calls: 5 });
    const left = await storedSessions(user.userId);
    expect(left).toHaveLength(3);
    expect(left.map((s) => s.userAgent)).toContain('Laptop');
    expect(await signInItem(user.userId)).toMatchObject({ sessionCount: 3, loginCount: 4, sessionCountLogins: 4 });
  });

  it('parallel sign-ins of one user never leave more than MAX_SESSIONS_PER_USER sessions', async () => {
    const user = await signUp(t);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => login(user, `Device ${i}`)));
    expect(results.map((res) => res.status)).toEqual(Array.from({ length: 12 }, () => 200));
    const left = await storedSessions(user.userId);
    expect(left).toHaveLength(3);
    // Each surviving session is one that a sign-in answered with.
    const issued = new Set(results.map((res) => decodeJwt(res.body.accessToken as string).sid as string));
    for (const session of left) expect(issued.has(session.id as string)).toBe(true);
    // The count bounds what is left (a sign-in that lost every race leaves it unknown: counted next time).
    const item = await signInItem(user.userId);
    expect(item.loginCount).toBe(12);
    if (item.sessionCountLogins === item.loginCount) expect(item.sessionCount).toBeGreaterThanOrEqual(3);
    // And the next sign-in still keeps the cap.
    await login(user, 'After').expect(200);
    expect(await storedSessions(user.userId)).toHaveLength(3);
  });

  it('ends a session SESSION_MAX_AGE_SECONDS after sign-in, however often it is refreshed', async () => {
    // The app's clock, stopped at sign-in and moved: no waiting, no rewriting of the stored session.
    // On a whole second, because the `ttl` attribute counts whole seconds.
    const start = t.clock
      .set(new Date(Math.floor(Date.now() / 1000) * 1000))
      .now()
      .getTime();
    const deadline = start + 600 * 1000;
    try {
      const user = await signUp(t);
      const sid = decodeJwt(user.accessToken).sid as string;
      const item = async () => (await t.getItem(`USER#${user.userId}`, `SESSION#${sid}`))!;
      expect(Date.parse((await item()).createdAt as string)).toBe(start);
      expect(Date.parse((await item()).expiresAt as string)).toBe(deadline);

      // Refreshed five minutes in: a sliding expiry alone would now reach fifteen minutes.
      t.clock.advance(5 * 60 * 1000);
      const second = (await refresh(user.refreshToken).expect(200)).body as { refreshToken: string };
      expect(Date.parse((await item()).expiresAt as string)).toBe(deadline);

      // A millisecond before the deadline it is still live and refreshes once more.
      t.clock.set(new Date(deadline - 1));
      const last = (await refresh(second.refreshToken).expect(200)).body as {
        accessToken: string;
        refreshToken: string;
      };
      await sessions(`Bearer ${last.accessToken}`).expect(200);
      expect(Date.parse((await item()).expiresAt as string)).toBe(deadline);

      // At the deadline: dead, for the access token and the refresh token alike.
      t.clock.set(new Date(deadline));
      expect((await sessions(`Bearer ${last.accessToken}`).expect(401)).body.code).toBe('session_revoked');
      await refresh(last.refreshToken).expect(401);
    } finally {
      t.clock.reset();
    }
  });

  it('pages GET /auth/sessions with a cursor bound to the caller', async () => {
    const user = await signUp(t);
    await login(user, 'Phone').expect(200);
    await login(user, 'Tablet').expect(200);
    const first = await sessions(user.bearer, '?limit=2').expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await sessions(user.bearer, `?limit=2&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((s: { id: string }) => s.id);
    expect(new Set(ids).size).toBe(3);

    const other = await signUp(t);
    const moved = await sessions(other.bearer, `?limit=2&cursor=${first.body.nextCursor}`).expect(400);
    expect(moved.body.code).toBe('invalid_cursor');
  });

  it.each([5, 10])('detects reuse of a refresh token %i generations old and revokes the session', async (age) => {
    const user = await signUp(t);
    const tokens = [user.refreshToken];
    for (let i = 0; i < age; i++) tokens.push((await refresh(tokens.at(-1)!).expect(200)).body.refreshToken);
    const reused = await refresh(tokens[0]).expect(401);
    expect(reused.body.code).toBe('refresh_token_reused');
    await refresh(tokens.at(-1)!).expect(401); // the whole session is gone
  });

  it('refuses a refresh token whose generation was altered (wrong MAC) without revoking the session', async () => {
    const user = await signUp(t);
    const next = (await refresh(user.refreshToken).expect(200)).body.refreshToken as string;
    const parts = next.split('.');
    expect(parts).toHaveLength(5);
    parts[2] = '0';
    expect((await refresh(parts.join('.')).expect(401)).body.code).toBe('invalid_refresh_token');
    await refresh(next).expect(200);
  });
});
