import request from 'supertest';
import { createApp } from '../src/app.setup.js';
import { loadConfig } from '../src/config/app-config.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/** What the app exposes: CORS only to configured origins, /metrics only with its token, docs off in production. */
describe('exposure (e2e)', () => {
  const ALLOWED = 'https://app.example.com';
  const TOKEN = 'a-metrics-token-of-sufficient-length';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: `${ALLOWED}, http://localhost:5173`, METRICS_TOKEN: TOKEN });
  });
  afterAll(() => t.close());

  describe('CORS', () => {
    it('answers a preflight from an allowed origin with the right headers, without credentials by default', async () => {
      const res = await t.http
        .options('/api/v1/posts')
        .set('origin', ALLOWED)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, content-type')
        .expect(204);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      expect(res.headers['access-control-allow-headers']).toMatch(/authorization/i);
      expect(res.headers['access-control-allow-headers']).toMatch(/if-match/i);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toMatch(/origin/i);
    });

    it('gives another origin no CORS headers at all, on a preflight or a request', async () => {
      const preflight = await t.http
        .options('/api/v1/posts')
        .set('origin', 'https://evil.example.com')
        .set('access-control-request-method', 'POST');
      expect(preflight.status).not.toBe(204);
      expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      const get = await t.http.get('/api/v1/posts').set('origin', 'https://app.example.com.evil.example').expect(200);
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('says Vary: Origin on every answer, with no Origin and with a refused one too, so a CDN keys on it (review 22a L3)', async () => {
      for (const origin of [undefined, 'https://evil.example.com', ALLOWED]) {
        const req = t.http.get('/api/v1/posts');
        const res = await (origin ? req.set('origin', origin) : req).expect(200);
        expect({ origin, vary: res.headers.vary }).toEqual({ origin, vary: expect.stringMatching(/\bOrigin\b/i) });
        // Once, however many layers asked for it.
        expect(res.headers.vary.match(/origin/gi)).toHaveLength(1);
      }
    });

    it('exposes the headers clients read on an allowed origin', async () => {
      const res = await t.http.get('/api/v1/posts').set('origin', ALLOWED).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(res.headers['access-control-expose-headers']).toMatch(/ETag/);
    });

    it('sends no CORS headers when CORS_ORIGINS is not set, and allows credentials only when asked', async () => {
      const plain = await createTestApp();
      const withCredentials = await createTestApp({ CORS_ORIGINS: ALLOWED, CORS_CREDENTIALS: 'true' });
      try {
        const res = await plain.http.get('/api/v1/posts').set('origin', ALLOWED).expect(200);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers.vary ?? '').not.toMatch(/origin/i);
        const preflight = await withCredentials.http
          .options('/api/v1/posts')
          .set('origin', ALLOWED)
          .set('access-control-request-method', 'GET')
          .expect(204);
        expect(preflight.headers['access-control-allow-credentials']).toBe('true');
      } finally {
        await plain.close();
        await withCredentials.close();
      }
    });
  });

  describe('token answers', () => {
    it('say Cache-Control: private, no-store: registration, sign-in, refresh and Conduit (RFC 6749 5.1; review 22a L2)', async () => {
      const email = `no-store-${Date.now()}@example.com`;
      const json = { 'content-type': 'application/json' };
      const registered = await t.http
        .post('/api/v1/auth/register')
        .set(json)
        .send({ email, password: 'password-1234' })
        .expect(201);
      const login = await t.http
        .post('/api/v1/auth/login')
        .set(json)
        .send({ email, password: 'password-1234' })
        .expect(200);
      const refreshed = await t.http
        .post('/api/v1/auth/refresh')
        .set(json)
        .send({ refreshToken: login.body.refreshToken })
        .expect(200);
      const conduit = await t.http
        .post('/api/users/login')
        .set(json)
        .send({ user: { email, password: 'password-1234' } })
        .expect(200);
      const refused = await t.http.post('/api/v1/auth/login').set(json).send({ email, password: 'wrong-password' });
      for (const [name, res] of Object.entries({ registered, login, refreshed, conduit, refused }))
        expect({ name, cacheControl: res.headers['cache-control'] }).toEqual({
          name,
          cacheControl: 'private, no-store',
        });
    });
  });

  describe('401 answers', () => {
    it('carry a Bearer challenge, with error="invalid_token" for a refused token (RFC 6750 3.1; review 22a note)', async () => {
      const email = `challenge-${Date.now()}@example.com`;
      const signedUp = await t.http
        .post('/api/v1/auth/register')
        .send({ email, password: 'password-1234' })
        .expect(201);
      const missing = await t.http.get('/api/v1/users/me').expect(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
      const forged = await t.http.get('/api/v1/users/me').set('authorization', 'Bearer x.y.z').expect(401);
      expect(forged.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      const wrongPassword = await t.http.post('/api/v1/auth/login').send({ email, password: 'not-the-password' });
      expect([wrongPassword.status, wrongPassword.headers['www-authenticate']]).toEqual([401, 'Bearer realm="api"']);
      // Conduit reads `Token` or `Bearer`, then spaces or tabs only, as the native guard does.
      const token = signedUp.body.accessToken as string;
      await t.http.get('/api/user').set('authorization', `Token \t${token}`).expect(200);
      const nbsp = await t.http.get('/api/user').set('authorization', `Token\u00a0${token}`);
      expect(nbsp.status).toBe(401);
    });
  });

  describe('/metrics', () => {
    it('answers only to the configured bearer token', async () => {
      const ok = await t.http.get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
      expect(ok.text).toContain('# TYPE');
      for (const header of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${TOKEN}`, TOKEN]) {
        const req = t.http.get('/metrics');
        if (header) req.set('authorization', header);
        const res = await req.expect(401);
        expect(res.body.code).toBe('invalid_metrics_token');
        expect(res.text).not.toContain('# TYPE');
      }
    });

    it('does not exist without a METRICS_TOKEN', async () => {
      const plain = await createTestApp();
      try {
        const res = await plain.http.get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(404);
        expect(res.body.code).toBe('route_not_found');
      } finally {
        await plain.close();
      }
    });
  });

  it("sends helmet's security headers on every answer, an error too, and no X-Powered-By", async () => {
    for (const res of [await t.api.get('/health/live').expect(200), await t.api.get('/api/v1/nope').expect(404)]) {
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      // Not told to use HTTPS only: this server is plain http (HTTPS_HEADERS off outside production).
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      // The rest of helmet's defaults (set from a list computed once at start-up, session 15).
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['origin-agent-cluster']).toBe('?1');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-dns-prefetch-control']).toBe('off');
      expect(res.headers['x-download-options']).toBe('noopen');
      expect(res.headers['x-permitted-cross-domain-policies']).toBe('none');
      expect(res.headers['x-xss-protection']).toBe('0');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('tells browsers to use HTTPS only where HTTPS_HEADERS says the API is reached over HTTPS (review 18c)', async () => {
    const tls = await createTestApp({ HTTPS_HEADERS: 'true' });
    try {
      for (const res of [await tls.api.get('/health/live').expect(200), await tls.http.get('/docs/').expect(301)]) {
        expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
        expect(res.headers['content-security-policy']).toMatch(/;upgrade-insecure-requests$/);
      }
    } finally {
      await tls.close();
    }
  });

  it('does not serve the API docs in production unless API_DOCS says so', async () => {
    const env = {
      NODE_ENV: 'production',
      BCRYPT_COST: '10',
      DYNAMODB_ENDPOINT: t.config.dynamo.endpoint!,
      AWS_REGION: t.config.dynamo.region,
      JWT_SECRET: t.config.auth.jwtSecret,
      MAIL_TRANSPORT: 'ses',
      MAIL_FROM: 'no-reply@example.com',
      PUBLIC_URL: 'https://example.com',
    };
    for (const [extra, status] of [
      [{}, 404],
      [{ API_DOCS: 'true' }, 200],
    ] as const) {
      const app = await createApp(loadConfig({ ...env, ...extra }), { logLevel: 'silent' });
      await app.init();
      try {
        await request(app.getHttpServer()).get('/docs-json').expect(status);
      } finally {
        await app.close();
      }
    }
  });
});
