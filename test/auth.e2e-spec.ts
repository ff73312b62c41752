import { captureLogs } from './helpers/log-capture.js';
import { createTestApp, dynamoCost, type TestApp } from './helpers/test-app.js';

// No log line of this suite may hold a token, a link token, one of these passwords or a hash.
captureLogs(['password-1234', 'correct horse', 'password-1', 'password-2']);

describe('auth (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const register = (body: unknown) => t.api.post('/api/v1/auth/register').send(body as object);

  describe('POST /api/v1/auth/register', () => {
    it('creates the user, the profile and both uniqueness items in one transaction', async () => {
      const res = await register({
        email: '  Grace@Example.COM ',
        password: 'correct horse',
        firstName: 'Grace',
        lastName: 'Hopper',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      expect(res.body.user).toMatchObject({
        email: 'grace@example.com',
        username: 'grace',
        firstName: 'Grace',
        role: 'user',
        status: 'pending',
        emailVerified: false,
        loginCount: 1,
        version: 1,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|"PK"|"SK"|GSI/);
      expect(dynamoCost(res).calls).toBe(1); // one TransactWriteItems: user, profile, uniqueness, session and the verification mail request (the registration limit is off in this suite)

      const partition = await t.queryPartition(`USER#${res.body.user.id}`);
      // MAILREQ#: the verification mail's request, for the stream processor to mint and send.
      // FEED#DAYS: the personal feed's day counts, created empty: the fan-out conditions on it.
      expect(partition.map((item) => String(item.SK).replace(/#.*$/, '#')).sort()).toEqual([
        'FEED#',
        'MAILREQ#',
        'SESSION#',
        'USER',
        'USER#',
      ]);
      const user = partition.find((item) => item.SK === 'USER')!;
      expect(user.passwordHash).toMatch(/^\$2[aby]\$04\$/); // bcrypt with the test cost
      expect(user.passwordHash).not.toContain('correct horse');
      expect((await t.getItem('UNIQUE#EMAIL#grace@example.com', 'UNIQUE'))?.userId).toBe(res.body.user.id);
      expect((await t.getItem('UNIQUE#USERNAME#grace', 'UNIQUE'))?.userId).toBe(res.body.user.id);
    });

    it('keeps a chosen username and refuses a taken one with 409 username_taken', async () => {
      const first = await register({ email: 'linus@example.com', password: 'password-1', username: 'Torvalds' });
      expect(first.status).toBe(201);
      expect(first.body.user.username).toBe('torvalds');
      const before = (await t.allItems()).length;
      const second = await register({ email: 'other@example.com', password: 'password-1', username: 'torvalds' });
      expect(second.status).toBe(409);
      expect(second.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(second.body.code).toBe('username_taken');
      expect((await t.allItems()).length).toBe(before); // nothing partial was written
    });

    it('derives a free username when the one from the email is taken', async () => {
      await register({ email: 'sam@one.example', password: 'password-1' }).expect(201);
      const res = await register({ email: 'sam@two.example', password: 'password-1' });
      expect(res.status).toBe(201);
      expect(res.body.user.username).toMatch(/^sam-\d{4}$/);
    });

    it('answers 409 email_taken for an email in another case and with spaces', async () => {
      await register({ email: 'dup@example.com', password: 'password-1' }).expect(201);
      const res = await register({ email: '  DUP@example.com', password: 'password-2' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ status: 409, code: 'email_taken', title: 'Conflict' });
    });

    describe('50 concurrent registrations of one email', () => {
      // Their own app, with one DynamoDB call in flight at a time. With several, the losers'
      // transactions collide with the winner's on DynamoDB Local, and on a loaded machine one
      // can exhaust its conflict retries and answer 503 transaction_conflict (a documented,
      // retryable answer, but not the one this test is about). One call at a time makes that
      // impossible by construction while the 50 requests still race through the app (hashing,
      // the stale-account check, the transaction): only the transaction's condition on the email
      // item keeps the email unique, and without it all 50 would answer 201.
      let own: TestApp;
      beforeAll(async () => {
        own = await createTestApp({ DYNAMODB_MAX_CONCURRENCY: '1' });
      });
      afterAll(async () => {
        await own.close();
      });

      it('lets exactly one succeed; the other 49 answer 409 email_taken', async () => {
        const variants = Array.from(
          { length: 50 },
          (_, i) => ['race@example.com', ' RACE@example.com', 'Race@Example.com ', '  race@EXAMPLE.COM  '][i % 4],
        );
        const results = await Promise.all(
          variants.map((email) => own.api.post('/api/v1/auth/register').send({ email, password: 'password-1' })),
        );
        const answers = results.map((r) => (r.status === 201 ? '201' : `${r.status} ${String(r.body.code)}`));
        const tally = (list: string[]) =>
          list.reduce<Record<string, number>>((n, a) => ({ ...n, [a]: (n[a] ?? 0) + 1 }), {});
        expect(tally(answers)).toEqual({ '201': 1, '409 email_taken': 49 });

        const items = await own.allItems();
        expect(items.filter((i) => i.PK === 'UNIQUE#EMAIL#race@example.com')).toHaveLength(1);
        expect(items.filter((i) => i.SK === 'USER' && i.email === 'race@example.com')).toHaveLength(1);
      });
    });

    it('accepts a 72-byte password and refuses a 73-byte one', async () => {
      await register({ email: 'p72@example.com', password: 'a'.repeat(72) }).expect(201);
      const res = await register({ email: 'p73@example.com', password: 'a'.repeat(73) });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors).toEqual([
        { field: 'password', messages: ['password must be at most 72 bytes in UTF-8'] },
      ]);
      // multi-byte characters count by bytes: 25 x 3 bytes = 75
      expect((await register({ email: 'p75@example.com', password: '€'.repeat(25) }).expect(400)).body.code).toBe(
        'validation_failed',
      );
    });

    describe('bad input answers 4xx problem+json and writes nothing', () => {
      const cases: [string, () => ReturnType<typeof register>, number, string][] = [
        ['missing fields', () => register({}), 400, 'validation_failed'],
        ['a missing password', () => register({ email: 'a@example.com' }), 400, 'validation_failed'],
        ['wrong types', () => register({ email: 42, password: ['x'] }), 400, 'validation_failed'],
        [
          'an invalid email',
          () => register({ email: 'not-an-email', password: 'password-1' }),
          400,
          'validation_failed',
        ],
        [
          'a short password',
          () => register({ email: 'short@example.com', password: 'short' }),
          400,
          'validation_failed',
        ],
        [
          'an invalid username',
          () => register({ email: 'u@example.com', password: 'password-1', username: 'a b' }),
          400,
          'validation_failed',
        ],
        [
          'an unknown field',
          () => register({ email: 'x@example.com', password: 'password-1', role: 'admin' }),
          400,
          'validation_failed',
        ],
        [
          'a JSON array',
          () => register([{ email: 'x@example.com', password: 'password-1' }]),
          400,
          'validation_failed',
        ],
        [
          'a non-JSON body',
          () =>
            t.api
              .post('/api/v1/auth/register')
              .set('content-type', 'application/json')
              .send('{"email": "x@example.com",'),
          400,
          'malformed_json',
        ],
        [
          'a wrong content type',
          () => t.api.post('/api/v1/auth/register').set('content-type', 'text/plain').send('email=x@example.com'),
          415,
          'unsupported_media_type',
        ],
        [
          'a form-encoded body',
          () =>
            t.api.post('/api/v1/auth/register').type('form').send({ email: 'x@example.com', password: 'password-1' }),
          415,
          'unsupported_media_type',
        ],
        [
          'a 1 MB string',
          () => register({ email: 'big@example.com', password: 'password-1', firstName: 'x'.repeat(1024 * 1024) }),
          413,
          'payload_too_large',
        ],
      ];

      it.each(cases)('%s', async (_name, send, status, code) => {
        const before = (await t.allItems()).length;
        const res = await send();
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toBe(code);
        expect(res.body.status).toBe(status);
        expect(typeof res.body.detail).toBe('string');
        expect((await t.allItems()).length).toBe(before);
      });

      it('lists every invalid field', async () => {
        const res = await register({ email: 'nope', password: 1, username: '!' });
        expect(res.status).toBe(400);
        expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
          'email',
          'password',
          'username',
        ]);
      });
    });
  });
});
