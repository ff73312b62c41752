import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../src/common/clock/clock.js';
import { captureLogs } from './helpers/log-capture.js';
import { createTestApp, setUserAttributes, signUp, type TestApp } from './helpers/test-app.js';
import { craftJwt, decodeJwt } from './helpers/jwt.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';

// No log line of this suite may hold a token, a link token, one of these passwords or a hash.
captureLogs([
  'password-1234',
  'a brand new password',
  'another password',
  'reset password 1',
  'reset password 2',
  'wrong-one',
]);

describe('auth: login, tokens and sessions (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const login = (email: string, password: string, userAgent = 'jest') =>
    t.api.post('/api/v1/auth/login').set('user-agent', userAgent).send({ email, password });
  const sessions = (bearer: string) => t.api.get('/api/v1/auth/sessions').set('authorization', bearer);
  const refresh = (refreshToken: string) => t.api.post('/api/v1/auth/refresh').send({ refreshToken });
  const setStatus = (userId: string, status: string) => setUserAttributes(t, userId, { status });

  describe('POST /auth/login', () => {
    it('returns a token pair and stores a session with only the refresh token hash', async () => {
      const user = await signUp(t);
      const before = t.clock.now().toISOString();
      const res = await login(user.email.toUpperCase(), user.password, 'MyPhone/1.0').expect(200);
      const after = t.clock.now().toISOString();
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: user.userId, loginCount: 2 } });
      expect(res.body.user.lastLoginAt >= before && res.body.user.lastLoginAt <= after).toBe(true);

      const claims = decodeJwt(res.body.accessToken);
      expect(claims).toMatchObject({
        sub: user.userId,
        role: 'user',
        iss: 'publishing-api',
        aud: 'publishing-api-clients',
      });
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);

      const session = await t.getItem(`USER#${user.userId}`, `SESSION#${claims.sid as string}`);
      expect(session).toMatchObject({ userAgent: 'MyPhone/1.0', userId: user.userId });
      expect(typeof session?.ttl).toBe('number');
      expect(session?.refreshTokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(session)).not.toContain(res.body.refreshToken);
    });

    it("stores a sign-in's User-Agent without control characters, whatever bytes it was sent with (review 20c L2)", async () => {
      const user = await signUp(t);
      // Bytes 0x9B and 0x85 (an 8-bit terminal's CSI, NEL): Node's parser makes them C1 controls.
      const res = await login(user.email, user.password, 'Evil\u009b[2J\u0085Agent/1.0').expect(200);
      const sid = decodeJwt(res.body.accessToken).sid as string;
      const stored = (await t.getItem(`USER#${user.userId}`, `SESSION#${sid}`))?.userAgent as string;
      expect(stored).toBe('Evil\uFFFD[2J\uFFFDAgent/1.0');
      const listed = await t.api.get('/api/v1/auth/sessions').set('authorization', `Bearer ${res.body.accessToken}`);
      expect(listed.body.items.map((s: { userAgent?: string }) => s.userAgent)).toContain(
        'Evil\uFFFD[2J\uFFFDAgent/1.0',
      );
    });

    it('answers an unknown email and a wrong password identically', async () => {
      const user = await signUp(t);
      const unknown = await login('nobody@example.com', user.password).expect(401);
      const wrong = await login(user.email, 'wrong-password').expect(401);
      // only what names the request may differ
      const strip = (body: Record<string, unknown>) => ({ ...body, instance: undefined, requestId: undefined });
      expect(strip(unknown.body)).toEqual(strip(wrong.body));
      expect(unknown.body.code).toBe('invalid_credentials');
    });

    it('refuses suspended and deactivated accounts with 403', async () => {
      const suspended = await signUp(t);
      await setStatus(suspended.userId, 'suspended');
      expect((await login(suspended.email, suspended.password).expect(403)).body.code).toBe('account_suspended');
      const inactive = await signUp(t);
      await setStatus(inactive.userId, 'inactive');
      expect((await login(inactive.email, inactive.password).expect(403)).body.code).toBe('account_inactive');
    });

    it('refuses bad input with 400', async () => {
      expect((await t.api.post('/api/v1/auth/login').send({ email: 'x' }).expect(400)).body.code).toBe(
        'validation_failed',
      );
    });
  });

  describe('access tokens', () => {
    let user: Awaited<ReturnType<typeof signUp>>;
    beforeAll(async () => {
      user = await signUp(t);
    });
    const claims = () => decodeJwt(user.accessToken);

    it('opens protected routes', async () => {
      const res = await sessions(user.bearer).expect(200);
      expect(res.body.items).toHaveLength(1);
    });

    it.each([
      ['no token', () => undefined, 'missing_token'],
      ['a malformed token', () => 'Bearer not.a.jwt', 'invalid_token'],
      ['alg none', () => `Bearer ${craftJwt(claims(), { alg: 'none' })}`, 'invalid_token'],
      [
        'a wrong key',
        () => `Bearer ${craftJwt(claims(), { secret: 'another-secret-another-secret-123456' })}`,
        'invalid_token',
      ],
      [
        'an expired token',
        () => `Bearer ${craftJwt({ ...claims(), exp: Math.floor(Date.now() / 1000) - 10 }, { secret: SECRET })}`,
        'token_expired',
      ],
      [
        'a wrong issuer',
        () => `Bearer ${craftJwt({ ...claims(), iss: 'someone-else' }, { secret: SECRET })}`,
        'invalid_token',
      ],
      [
        'a wrong audience',
        () => `Bearer ${craftJwt({ ...claims(), aud: 'another-app' }, { secret: SECRET })}`,
        'invalid_token',
      ],
      [
        'an edited role claim',
        () => {
          const [header, , signature] = user.accessToken.split('.');
          const payload = Buffer.from(JSON.stringify({ ...claims(), role: 'admin' })).toString('base64url');
          return `Bearer ${header}.${payload}.${signature}`;
        },
        'invalid_token',
      ],
      [
        'an unknown session',
        () => `Bearer ${craftJwt({ ...claims(), sid: 'AAAAAAAAAAAAAAAAAAAAA' }, { secret: SECRET })}`,
        'session_revoked',
      ],
    ])('refuses %s with 401', async (_name, header, code) => {
      const value = header();
      const req = t.api.get('/api/v1/auth/sessions');
      const res = await (value ? req.set('authorization', value) : req).expect(401);
      expect(res.body.code).toBe(code);
    });

    it('refuses a session whose expiresAt has passed although its item still exists', async () => {
      const victim = await signUp(t);
      const sid = decodeJwt(victim.accessToken).sid as string;
      const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${victim.userId}`, SK: `SESSION#${sid}` },
          UpdateExpression: 'SET expiresAt = :past',
          ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
        }),
      );
      expect(await t.getItem(`USER#${victim.userId}`, `SESSION#${sid}`)).toMatchObject({ userId: victim.userId });
      expect((await sessions(victim.bearer).expect(401)).body.code).toBe('session_revoked');
      expect((await refresh(victim.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
    });

    it('keeps working while another app instance runs in the same process', async () => {
      const other = await createTestApp();
      try {
        const there = await signUp(other);
        await other.api.get('/api/v1/auth/sessions').set('authorization', there.bearer).expect(200);
        await sessions(user.bearer).expect(200);
        // each app verifies against its own table: a token of one is a stranger to the other
        expect((await sessions(there.bearer).expect(401)).body.code).toBe('session_revoked');
      } finally {
        await other.close();
      }
      await sessions(user.bearer).expect(200);
    });

    it('takes a suspension into account on the very next request', async () => {
      const victim = await signUp(t);
      await sessions(victim.bearer).expect(200);
      await setStatus(victim.userId, 'suspended');
      expect((await sessions(victim.bearer).expect(403)).body.code).toBe('account_suspended');
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates the pair; the new tokens work', async () => {
      const user = await signUp(t);
      const res = await refresh(user.refreshToken).expect(200);
      expect(res.body.refreshToken).not.toBe(user.refreshToken);
      expect(decodeJwt(res.body.accessToken).sid).toBe(decodeJwt(user.accessToken).sid);
      await sessions(`Bearer ${res.body.accessToken}`).expect(200);
      await refresh(res.body.refreshToken).expect(200);
    });

    it('treats a rotated-out token as reuse and revokes the whole session', async () => {
      const user = await signUp(t);
      const next = await refresh(user.refreshToken).expect(200);
      const reuse = await refresh(user.refreshToken).expect(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      // the legitimate successor is dead too, and so is the access token of the session
      expect((await refresh(next.body.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
      expect((await sessions(`Bearer ${next.body.accessToken}`).expect(401)).body.code).toBe('session_revoked');
    });

    it('lets exactly one of 20 concurrent refreshes with one token win, and treats the rest as reuse', async () => {
      const user = await signUp(t);
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refreshToken)));
      const winners = results.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      const losers = results.filter((r) => r.status !== 200);
      expect(losers).toHaveLength(19);
      for (const loser of losers) {
        expect(loser.status).toBe(401);
        expect(['refresh_token_reused', 'invalid_refresh_token']).toContain(loser.body.code);
      }
      expect(losers.some((r) => r.body.code === 'refresh_token_reused')).toBe(true);
      // The same token presented twice is reuse: the session is revoked, the winner's successor with it.
      expect((await refresh(winners[0].body.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
      const items = await t.queryPartition(`USER#${user.userId}`);
      expect(items.filter((i) => String(i.SK).startsWith('SESSION#'))).toEqual([]);
    });

    it('refuses garbage and tokens of suspended users', async () => {
      expect((await refresh('garbage').expect(401)).body.code).toBe('invalid_refresh_token');
      const forged = `AAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAA.${'a'.repeat(43)}`;
      expect((await refresh(forged).expect(401)).body.code).toBe('invalid_refresh_token');
      const user = await signUp(t);
      await setStatus(user.userId, 'suspended');
      expect((await refresh(user.refreshToken).expect(403)).body.code).toBe('account_suspended');
    });
  });

  describe('logout and sessions', () => {
    it('logout ends the current session at once', async () => {
      const user = await signUp(t);
      await t.api.post('/api/v1/auth/logout').set('authorization', user.bearer).expect(204);
      expect((await sessions(user.bearer).expect(401)).body.code).toBe('session_revoked');
      expect((await refresh(user.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
    });

    it('lists sessions with the current one marked, and logout-all ends them all', async () => {
      const user = await signUp(t);
      const phone = await login(user.email, user.password, 'Phone').expect(200);
      const res = await sessions(user.bearer).expect(200);
      expect(res.body.items).toHaveLength(2);
      expect(res.body.items.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(res.body.items.map((s: { userAgent?: string }) => s.userAgent)).toContain('Phone');
      // BatchGet for the guard (session and user item: 2 RCU) and one Query (1 RCU): the guard's user
      // read gives the cutoff that leaves ended sessions out (review 16a L4: + a GetItem, 1 RCU, before).
      expect(res.headers['server-timing']).toMatch(/calls=2 rcu=3 /);

      await t.api.post('/api/v1/auth/logout-all').set('authorization', user.bearer).expect(204);
      expect((await sessions(user.bearer).expect(401)).body.code).toBe('session_revoked');
      expect((await sessions(`Bearer ${phone.body.accessToken}`).expect(401)).body.code).toBe('session_revoked');
    });

    it("revokes one of the caller's sessions, and answers 404 for another user's session", async () => {
      const user = await signUp(t);
      const other = await signUp(t);
      const phone = await login(user.email, user.password, 'Phone').expect(200);
      const phoneSid = decodeJwt(phone.body.accessToken).sid as string;
      const otherSid = decodeJwt(other.accessToken).sid as string;

      const foreign = await t.api
        .delete(`/api/v1/auth/sessions/${otherSid}`)
        .set('authorization', user.bearer)
        .expect(404);
      expect(foreign.body.code).toBe('session_not_found');
      await sessions(other.bearer).expect(200); // untouched

      await t.api.delete(`/api/v1/auth/sessions/${phoneSid}`).set('authorization', user.bearer).expect(204);
      expect((await sessions(`Bearer ${phone.body.accessToken}`).expect(401)).body.code).toBe('session_revoked');
      await sessions(user.bearer).expect(200);
    });
    it('answers 404 for a session that has ended though its item is still there, and deletes the item (review 16a L5)', async () => {
      const user = await signUp(t);
      const phone = await login(user.email, user.password, 'Phone').expect(200);
      const phoneSid = decodeJwt(phone.body.accessToken).sid as string;
      // A raise of the epoch keeping the caller's session, whose clean-up of the phone's item failed.
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${user.userId}`, SK: 'USER' },
          UpdateExpression: 'ADD sessionEpoch :one SET sessionEpochKeeps = :keep',
          ExpressionAttributeValues: { ':one': 1, ':keep': decodeJwt(user.accessToken).sid as string },
        }),
      );
      const phoneItem = { TableName: t.tableName, Key: { PK: `USER#${user.userId}`, SK: `SESSION#${phoneSid}` } };
      expect((await t.db.send(new GetCommand(phoneItem))).Item).toBeDefined();
      expect((await sessions(user.bearer).expect(200)).body.items).toHaveLength(1);

      const ended = await t.api
        .delete(`/api/v1/auth/sessions/${phoneSid}`)
        .set('authorization', user.bearer)
        .expect(404);
      expect(ended.body.code).toBe('session_not_found');
      expect((await t.db.send(new GetCommand(phoneItem))).Item).toBeUndefined();
      await sessions(user.bearer).expect(200);
    });
  });

  describe('POST /auth/password', () => {
    it('changes the password and revokes every other session', async () => {
      const user = await signUp(t);
      const phone = await login(user.email, user.password, 'Phone').expect(200);
      await t.api
        .post('/api/v1/auth/password')
        .set('authorization', user.bearer)
        .send({ currentPassword: user.password, newPassword: 'a brand new password' })
        .expect(204);
      await sessions(user.bearer).expect(200);
      expect((await sessions(`Bearer ${phone.body.accessToken}`).expect(401)).body.code).toBe('session_revoked');
      expect((await login(user.email, user.password).expect(401)).body.code).toBe('invalid_credentials');
      await login(user.email, 'a brand new password').expect(200);
    });

    it('refuses a wrong current password and a 73-byte new one', async () => {
      const user = await signUp(t);
      const wrong = await t.api
        .post('/api/v1/auth/password')
        .set('authorization', user.bearer)
        .send({ currentPassword: 'nope-nope', newPassword: 'another password' })
        .expect(403);
      expect(wrong.body.code).toBe('wrong_password');
      expect(
        (
          await t.api
            .post('/api/v1/auth/password')
            .set('authorization', user.bearer)
            .send({ currentPassword: user.password, newPassword: 'x'.repeat(73) })
            .expect(400)
        ).body.code,
      ).toBe('validation_failed');
      await login(user.email, user.password).expect(200);
    });
  });

  describe('password reset', () => {
    it('answers the same for known and unknown emails, and mails only the known one', async () => {
      const user = await signUp(t);
      const known = await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      const unknown = await t.api
        .post('/api/v1/auth/password-reset/request')
        .send({ email: 'ghost@example.com' })
        .expect(202);
      expect(known.body).toEqual(unknown.body);
      await t.mailSent();
      expect(t.mailer.last(user.email, 'password_reset')).toMatchObject({ to: user.email, kind: 'password_reset' });
      expect(t.mailer.outbox.some((m) => m.to === 'ghost@example.com')).toBe(false);
    });

    it('sets the new password with a single-use token and revokes all sessions', async () => {
      const user = await signUp(t);
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      await t.mailSent();
      const token = t.mailer.tokenFor(user.email, 'password_reset')!;
      const stored = (await t.allItems()).filter((i) => String(i.PK).startsWith('TOKEN#') && i.userId === user.userId);
      expect(stored.map((i) => i.kind).sort()).toEqual(['email_verification', 'password_reset']);
      expect(JSON.stringify(stored)).not.toContain(token); // stored hashed
      for (const item of stored) {
        expect(item.ttl).toBe(Math.floor(Date.parse(String(item.expiresAt)) / 1000));
        expect(Date.parse(String(item.expiresAt)) - Date.parse(String(item.createdAt))).toBe(3_600_000);
      }

      await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token, newPassword: 'reset password 1' })
        .expect(204);
      expect((await sessions(user.bearer).expect(401)).body.code).toBe('session_revoked');
      await login(user.email, 'reset password 1').expect(200);
      const again = await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token, newPassword: 'reset password 2' })
        .expect(400);
      expect(again.body.code).toBe('invalid_or_expired_token');
    });

    it('refuses an unknown token', async () => {
      const res = await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token: 'nope', newPassword: 'whatever123' })
        .expect(400);
      expect(res.body.code).toBe('invalid_or_expired_token');
    });
  });

  describe('email verification', () => {
    it('activates a pending user with the link sent at registration, once', async () => {
      const user = await signUp(t);
      await t.mailSent();
      const token = t.mailer.tokenFor(user.email, 'email_verification')!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const before = t.clock.now().toISOString();
      await t.api.post('/api/v1/auth/verify-email/confirm').send({ token }).expect(204);
      const after = t.clock.now().toISOString();
      const item = await t.getItem(`USER#${user.userId}`, 'USER');
      expect(item).toMatchObject({ emailVerified: true, status: 'active' });
      expect(String(item?.emailVerifiedAt) >= before && String(item?.emailVerifiedAt) <= after).toBe(true);
      expect((await t.api.post('/api/v1/auth/verify-email/confirm').send({ token }).expect(400)).body.code).toBe(
        'invalid_or_expired_token',
      );
    });

    it('answers requests the same way for known and unknown emails', async () => {
      const user = await signUp(t);
      const known = await t.api.post('/api/v1/auth/verify-email/request').send({ email: user.email }).expect(202);
      const unknown = await t.api
        .post('/api/v1/auth/verify-email/request')
        .send({ email: 'ghost2@example.com' })
        .expect(202);
      expect(known.body).toEqual(unknown.body);
    });
  });

  it('never returns a password hash, a token hash or a key attribute', async () => {
    const user = await signUp(t);
    const bodies = [
      (await login(user.email, user.password).expect(200)).body,
      (await sessions(user.bearer).expect(200)).body,
      (await refresh(user.refreshToken).expect(200)).body,
      (await t.api.get(`/api/v1/users/${user.userId}`).expect(200)).body,
    ];
    const text = JSON.stringify(bodies);
    for (const secret of ['passwordHash', 'refreshTokenHash', 'previousTokenHashes', '"PK"', '"SK"', 'GSI1', '$2b$']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('auth: login rate limits (e2e)', () => {
  // Each test has its own app (so its own counters), with a clock stopped 10 minutes into a
  // 15-minute window: no test depends on another's attempts or on the time of day.
  const WINDOW_START = '2026-05-15T12:00:00.000Z';
  const limitedApp = () =>
    createTestApp(
      { LOGIN_RATE_MAX_PER_ACCOUNT: '3', LOGIN_RATE_MAX_PER_IP: '6', LOGIN_RATE_WINDOW_SECONDS: '900' },
      { clock: new SettableClock().set('2026-05-15T12:10:00.000Z') },
    );
  let t: TestApp;
  beforeEach(async () => {
    t = await limitedApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('limits attempts per account with 429 and Retry-After', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 3; i++)
      expect(
        (await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'wrong-one' }).expect(401)).body
          .code,
      ).toBe('invalid_credentials');
    const limited = await t.api
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(429);
    expect(limited.body.code).toBe('too_many_login_attempts');
    expect(limited.headers['retry-after']).toBe('300'); // the window ends 5 minutes after the clock's time
    // another account from the same IP is not limited by this account's attempts
    const other = await signUp(t);
    await t.api.post('/api/v1/auth/login').send({ email: other.email, password: other.password }).expect(200);
    // the next window starts afresh
    t.clock.set(new Date(new Date(WINDOW_START).getTime() + 900_000));
    await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });

  it('limits attempts per IP across accounts', async () => {
    // Six attempts on six accounts from one IP reach the limit of 6; the seventh is refused.
    for (let i = 0; i < 6; i++)
      expect(
        (
          await t.api
            .post('/api/v1/auth/login')
            .send({ email: `x${i}@example.com`, password: 'whatever1' })
            .expect(401)
        ).body.code,
      ).toBe('invalid_credentials');
    const limited = await t.api
      .post('/api/v1/auth/login')
      .send({ email: 'fresh@example.com', password: 'whatever1' })
      .expect(429);
    expect(limited.body.code).toBe('too_many_login_attempts');
    expect(limited.headers['retry-after']).toBe('300');
  });
});
