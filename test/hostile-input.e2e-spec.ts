import { createTestApp, signUp, type TestApp } from './helpers/test-app.js';

/** Bodies a hostile client sends: deep nesting and prototype keys are 400s before validation. */
describe('hostile bodies (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const raw = (path: string, body: string, bearer?: string) => {
    const req = t.http.post(path).set('content-type', 'application/json');
    if (bearer) req.set('authorization', bearer);
    return req.send(body);
  };

  it('answers 400 payload_too_deep to deeply nested JSON, on any route, before validation', async () => {
    const deep = `{"email":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    for (const path of ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/posts']) {
      const res = await raw(path, deep).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('payload_too_deep');
    }
    // 32 levels are still read (and then refused by validation for what they are).
    const ok = `{"email":${'['.repeat(31)}${']'.repeat(31)},"password":"password-1234"}`;
    const res = await raw('/api/v1/auth/register', ok).expect(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a "%s" key anywhere in a body', async (key) => {
    const user = await signUp(t);
    const top = await raw('/api/v1/auth/login', `{"email":"a@example.com","password":"x","${key}":{"role":"admin"}}`);
    expect(top.status).toBe(400);
    expect(top.body.code).toBe('forbidden_key');
    const nestedRes = await t.http
      .patch('/api/v1/users/me/profile')
      .set('authorization', user.bearer)
      .set('content-type', 'application/json')
      .send(`{"socialLinks":[{"${key}":{"isAdmin":true}}]}`);
    expect(nestedRes.status).toBe(400);
    expect(nestedRes.body.code).toBe('forbidden_key');
    // Nothing reached a prototype, and the account is unchanged.
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const me = await t.api.get('/api/v1/users/me').set('authorization', user.bearer).expect(200);
    expect(me.body.role).toBe('user');
  });
});
