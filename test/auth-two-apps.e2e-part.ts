import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { craftJwt, decodeJwt } from './helpers/jwt.js';
import { createTestApp, type SignedIn, signUp, type TestApp } from './helpers/test-app.js';

const SECRET_A = 'app-a-secret-that-is-long-enough-0123456789';
const SECRET_B = 'app-b-secret-that-is-long-enough-9876543210';

/**
 * Each app checks bearer tokens with its own `AccessTokenVerifier` (its injector's, not a
 * process-wide registry as Passport's was, where the second app's strategy replaced the first
 * one's). These tests run two apps side by side (different secrets, issuers and tables) and check
 * that each still checks tokens as its own configuration and data say.
 */
describe('JWT authentication with two apps in one process', () => {
  let a: TestApp;
  let b: TestApp;
  let userA: SignedIn;
  let userB: SignedIn;

  beforeAll(async () => {
    a = await createTestApp({ JWT_SECRET: SECRET_A, JWT_ISSUER: 'issuer-a' });
    userA = await signUp(a);
    // Created second: anything process-wide it set up at start-up would now be its own.
    b = await createTestApp({ JWT_SECRET: SECRET_B, JWT_ISSUER: 'issuer-b' });
    userB = await signUp(b);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it("each app accepts its own tokens and refuses the other's, also when requests interleave", async () => {
    const me = (t: TestApp, user: SignedIn) => t.api.get('/api/v1/users/me').set('authorization', user.bearer);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const [t, user] = (
          [
            [a, userA],
            [b, userB],
            [a, userB],
            [b, userA],
          ] as const
        )[i % 4];
        return me(t, user).then((res) => ({ own: t === a ? user === userA : user === userB, res }));
      }),
    );
    for (const { own, res } of results) {
      if (own) expect(res.status).toBe(200);
      else expect(res.body).toMatchObject({ status: 401, code: 'invalid_token' });
    }
    expect((await me(a, userA)).body).toMatchObject({ id: userA.userId });
    expect((await me(b, userB)).body).toMatchObject({ id: userB.userId });
  });

  it("checks the issuer of the app that received the request, with the other's secret refused", async () => {
    const claims = decodeJwt(userA.accessToken);
    // Signed with A's secret but naming B's issuer: A refuses it (issuer), B refuses it (signature).
    const forged = craftJwt({ ...claims, iss: 'issuer-b' }, { secret: SECRET_A });
    for (const t of [a, b]) {
      const res = await t.api.get('/api/v1/users/me').set('authorization', `Bearer ${forged}`);
      expect(res.body).toMatchObject({ status: 401, code: 'invalid_token' });
    }
  });

  it('keeps the problem+json codes: missing, malformed, expired, alg none, revoked', async () => {
    const get = (header?: string) => {
      const req = a.api.get('/api/v1/users/me');
      return header === undefined ? req : req.set('authorization', header);
    };
    expect((await get()).body).toMatchObject({ status: 401, code: 'missing_token' });
    expect((await get('Basic abc')).body).toMatchObject({ status: 401, code: 'invalid_token' });
    const claims = decodeJwt(userA.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const expired = craftJwt({ ...claims, iat: now - 120, exp: now - 60 }, { secret: SECRET_A });
    expect((await get(`Bearer ${expired}`)).body).toMatchObject({ status: 401, code: 'token_expired' });
    const none = craftJwt(claims, { alg: 'none' });
    expect((await get(`Bearer ${none}`)).body).toMatchObject({ status: 401, code: 'invalid_token' });

    const session = await signUp(a);
    await a.api.post('/api/v1/auth/logout').set('authorization', session.bearer).expect(204);
    const revoked = await a.api.get('/api/v1/users/me').set('authorization', session.bearer);
    expect(revoked.body).toMatchObject({ status: 401, code: 'session_revoked' });
  });

  it('an optional-auth route still reads a token that is sent, and ignores none', async () => {
    const anonymous = await a.api.get('/api/v1/posts/AAAAAAAAAAAAAAAAAAAAA');
    expect(anonymous.body).toMatchObject({ status: 404, code: 'post_not_found' });
    const bad = await a.api.get('/api/v1/posts/AAAAAAAAAAAAAAAAAAAAA').set('authorization', 'Bearer not-a-jwt');
    expect(bad.body).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('the first app keeps working after the second one closes', async () => {
    const c = await createTestApp({ JWT_SECRET: SECRET_B });
    await c.close();
    await a.api.get('/api/v1/users/me').set('authorization', userA.bearer).expect(200);
  });
});
