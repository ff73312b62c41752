import { decodeJwt } from './helpers/jwt.js';
import { captureLogs } from './helpers/log-capture.js';
import { createTestApp, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

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
