import { createTestApp, type TestApp } from './helpers/test-app.js';

describe('users (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('GET /api/v1/users/{id}', () => {
    it('returns the public view: no email, no role, no internal attributes', async () => {
      const created = await t.api
        .post('/api/v1/auth/register')
        .send({ email: 'ada@example.com', password: 'password-1', firstName: 'Ada', lastName: 'Lovelace' })
        .expect(201);
      const res = await t.api.get(`/api/v1/users/${created.body.user.id}`).expect(200);
      expect(res.body).toEqual({
        id: created.body.user.id,
        username: 'ada',
        firstName: 'Ada',
        lastName: 'Lovelace',
        createdAt: created.body.user.createdAt,
        profile: {},
      });
      expect(JSON.stringify(res.body)).not.toMatch(/email|passwordHash|role|"PK"|"SK"|GSI|version/);
    });

    it('reads the user and profile with one Query', async () => {
      const created = await t.api
        .post('/api/v1/auth/register')
        .send({ email: 'q@example.com', password: 'password-1' })
        .expect(201);
      const res = await t.api.get(`/api/v1/users/${created.body.user.id}`).expect(200);
      expect(res.headers['server-timing']).toMatch(/dynamodb calls=1 /);
    });

    it('answers 404 user_not_found for an unknown id', async () => {
      const res = await t.api.get('/api/v1/users/AAAAAAAAAAAAAAAAAAAAA').expect(404);
      expect(res.body.code).toBe('user_not_found');
    });

    it('answers 400 for a malformed id', async () => {
      const res = await t.api.get('/api/v1/users/not-an-id').expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].field).toBe('id');
    });
  });
});
