// The example the README shows under "Writing your own e2e suite": keep the two in step.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestApp, dynamoCost, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => (t = await createTestApp()));
afterAll(() => t.close());

it('registers, then reads the account with the access token', async () => {
  const registered = await t.api
    .post('/api/v1/auth/register')
    .send({ email: 'ada@example.com', password: 'correct horse battery' })
    .expect(201);
  const { accessToken } = registered.body as { accessToken: string };

  const me = await t.api.get('/api/v1/users/me').set('authorization', `Bearer ${accessToken}`).expect(200);
  expect(me.body).toMatchObject({ email: 'ada@example.com', emailVerified: false });
  // From the Server-Timing header: the token check (one BatchGetItem) and the profile read.
  expect(dynamoCost(me).calls).toBe(2);
});
