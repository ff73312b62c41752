import { nanoid } from 'nanoid';
import { SettableClock } from '../src/common/clock/clock.js';
import { ErrorCode } from '../src/common/errors/error-codes.js';
import { RateLimiter } from '../src/dynamo/rate-limiter.js';
import { captureLogs } from './helpers/log-capture.js';
import { ADMIN_ENV, createTestApp, signInAdmin, type TestApp } from './helpers/test-app.js';

captureLogs(['password-1234', ADMIN_ENV.ADMIN_PASSWORD, 'wrong-password-1', 'new-password-1']);

/** Windows of a week, and a clock stopped inside one: no test here straddles a window boundary. */
const WEEK = '604800';

/** A fresh client IP per test (the app trusts one proxy hop), so no test shares a counter. */
const newIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

/** A fresh IPv6 /64 per test, as a prefix to append an interface identifier to (`${newBlock()}:1`). */
const newBlock = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}:`;

const expectLimited = (
  res: { status: number; headers: Record<string, string>; body: { code?: string } },
  code = 'too_many_requests',
) => {
  expect(res.status).toBe(429);
  expect(res.body.code).toBe(code);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(Number(WEEK));
};

describe('rate limits (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      {
        ...ADMIN_ENV,
        TRUST_PROXY_HOPS: '1',
        // Mailed links must live as long as the per-address windows (review 23 L-4).
        ACTION_TOKEN_TTL_SECONDS: WEEK,
        LOGIN_RATE_MAX_PER_ACCOUNT: '3',
        LOGIN_RATE_MAX_PER_IP: '1000',
        LOGIN_RATE_WINDOW_SECONDS: WEEK,
        REGISTER_RATE_MAX_PER_IP: '2',
        REGISTER_RATE_WINDOW_SECONDS: WEEK,
        PASSWORD_RESET_RATE_MAX_PER_IP: '3',
        PASSWORD_RESET_RATE_MAX_PER_EMAIL: '2',
        PASSWORD_RESET_RATE_WINDOW_SECONDS: WEEK,
        VERIFICATION_RATE_MAX_PER_IP: '3',
        VERIFICATION_RATE_MAX_PER_EMAIL: '2',
        VERIFICATION_RATE_WINDOW_SECONDS: WEEK,
        EMAIL_CHANGE_RATE_MAX_PER_IP: '3',
        EMAIL_CHANGE_RATE_MAX_PER_EMAIL: '2',
        EMAIL_CHANGE_RATE_WINDOW_SECONDS: WEEK,
        PASSWORD_CHECK_RATE_MAX_PER_ACCOUNT: '2',
        PASSWORD_CHECK_RATE_WINDOW_SECONDS: WEEK,
        REFRESH_RATE_MAX_PER_SESSION: '2',
        REFRESH_RATE_WINDOW_SECONDS: WEEK,
        CONTENT_RATE_LIMIT_PER_MINUTE: '3',
        CONTENT_RATE_WINDOW_SECONDS: WEEK,
        PUBLISH_RATE_MAX_PER_AUTHOR: '1',
        PUBLISH_RATE_WINDOW_SECONDS: WEEK,
        TAG_CREATE_RATE_MAX_PER_ACCOUNT: '12',
        TAG_CREATE_RATE_WINDOW_SECONDS: WEEK,
        VIEW_RATE_MAX_PER_CLIENT: '3',
        VIEW_RATE_WINDOW_SECONDS: WEEK,
      },
      { clock: new SettableClock().set('2026-05-15T12:10:00.000Z') },
    );
  });
  afterAll(async () => {
    await t.close();
  });

  /** A user registered from an IP of its own (registration is limited per IP). */
  const freshUser = () => signUpFrom(newIp());
  const signUpFrom = async (ip: string) => {
    const email = `rl-${nanoid(8).toLowerCase()}@example.com`;
    const res = await t.api
      .post('/api/v1/auth/register')
      .set('x-forwarded-for', ip)
      .send({ email, password: 'password-1234' });
    return res;
  };
  /** Email and password of a fresh account. */
  const freshAccount = async () => {
    const res = await freshUser();
    expect(res.status).toBe(201);
    return { email: (res.body as { user: { email: string } }).user.email, password: 'password-1234' };
  };
  const login = (ip: string, email: string, password: string) =>
    t.api.post('/api/v1/auth/login').set('x-forwarded-for', ip).send({ email, password });

  it('registration: REGISTER_RATE_MAX_PER_IP per IP', async () => {
    const ip = newIp();
    expect((await signUpFrom(ip)).status).toBe(201);
    expect((await signUpFrom(ip)).status).toBe(201);
    expectLimited(await signUpFrom(ip));
    expect((await signUpFrom(newIp())).status).toBe(201);
  });

  it('per-IP limits take an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 address', async () => {
    // Keyed on the full address, one home's /64 had 2^64 budgets: a new interface identifier each time.
    const block = newBlock();
    expect((await signUpFrom(`${block}:1`)).status).toBe(201);
    expect((await signUpFrom(`${block}ffff:0:0:2`)).status).toBe(201);
    expectLimited(await signUpFrom(`${block.toUpperCase()}0:0:0:3`));
    expect((await signUpFrom(`${newBlock()}:1`)).status).toBe(201);
    const ip = newIp();
    expect((await signUpFrom(ip)).status).toBe(201);
    expect((await signUpFrom(`::ffff:${ip}`)).status).toBe(201);
    expectLimited(await signUpFrom(`::FFFF:${ip}`));
  });

  describe.each([
    ['password-reset', '/api/v1/auth/password-reset/request', 'password_reset'],
    ['verification', '/api/v1/auth/verify-email/request', 'email_verification'],
  ] as const)('%s requests', (_name, path, kind) => {
    it("mail an address at most its budget, from any IP, and past it answer 202 as any other, mailing nothing: a stranger's requests never make the owner's 429 (review 22a L4)", async () => {
      const email = `target-${nanoid(8).toLowerCase()}@example.com`;
      const register = await t.api
        .post('/api/v1/auth/register')
        .set('x-forwarded-for', newIp())
        .send({ email, password: 'password-1234' })
        .expect(201);
      await t.mailSent();
      const mailed = () => t.mailer.outbox.filter((m) => m.to === email && m.kind === kind).length;
      const before = mailed();
      // The stranger's two requests (PASSWORD_RESET_RATE_MAX_PER_EMAIL and VERIFICATION_RATE_MAX_PER_EMAIL are 2 here).
      const answers = [];
      for (let i = 0; i < 2; i++) answers.push(await t.api.post(path).set('x-forwarded-for', newIp()).send({ email }));
      // The owner's, from yet another IP: the same 202 and body, and no mail.
      const owner = await t.api.post(path).set('x-forwarded-for', newIp()).send({ email });
      const unknown = await t.api
        .post(path)
        .set('x-forwarded-for', newIp())
        .send({ email: `nobody-${email}` });
      for (const res of [...answers, owner])
        expect({ status: res.status, body: res.body }).toEqual({ status: 202, body: unknown.body });
      expect(owner.headers['retry-after']).toBeUndefined();
      await t.mailSent();
      expect(mailed() - before).toBe(2);
      expect(register.body.user.email).toBe(email);
    });

    it('are limited per IP, across emails', async () => {
      const ip = newIp();
      for (let i = 0; i < 3; i++) {
        await t.api
          .post(path)
          .set('x-forwarded-for', ip)
          .send({ email: `x${i}-${nanoid(6).toLowerCase()}@example.com` })
          .expect(202);
      }
      expectLimited(await t.api.post(path).set('x-forwarded-for', ip).send({ email: 'another@example.com' }));
    });
  });

  describe('email-change requests (POST /users/me/email)', () => {
    /** The bearer of a fresh account, registered from an IP of its own. */
    const freshBearer = async () => {
      const res = await freshUser();
      expect(res.status).toBe(201);
      return `Bearer ${(res.body as { accessToken: string }).accessToken}`;
    };
    const askChange = (bearer: string, email: string, ip = newIp()) =>
      t.api
        .post('/api/v1/users/me/email')
        .set('authorization', bearer)
        .set('x-forwarded-for', ip)
        .send({ email, password: 'password-1234' });

    it('mail a new address at most its budget, from any account and IP, and past it answer the same 202, mailing nothing (review 23 M-1)', async () => {
      const target = `victim-${nanoid(8).toLowerCase()}@example.com`;
      const mailed = () => t.mailer.outbox.filter((m) => m.to === target && m.kind === 'email_change').length;
      const [first, second] = [await freshBearer(), await freshBearer()];
      // EMAIL_CHANGE_RATE_MAX_PER_EMAIL is 2 here; each account asks twice (its PASSWORD_CHECK budget).
      const answers = [];
      for (const bearer of [first, first, second, second]) answers.push(await askChange(bearer, target));
      for (const res of answers) {
        expect({ status: res.status, body: res.body }).toEqual({ status: 202, body: answers[0].body });
        expect(res.headers['retry-after']).toBeUndefined();
      }
      expect(answers[0].body).toEqual(expect.objectContaining({ pendingEmail: target }));
      await t.mailSent();
      expect(mailed()).toBe(2);
    });

    it('are limited per IP (429), across accounts and addresses', async () => {
      const ip = newIp();
      const [first, second] = [await freshBearer(), await freshBearer()];
      const fresh = () => `n-${nanoid(8).toLowerCase()}@example.com`;
      for (const bearer of [first, first, second]) await askChange(bearer, fresh(), ip).expect(202);
      expectLimited(await askChange(second, fresh(), ip));
      await askChange(await freshBearer(), fresh()).expect(202);
    });
  });

  it('password checks (POST /auth/password, POST /users/me/email) share a per-account limit', async () => {
    const user = (await freshUser()).body as { accessToken: string; user: { email: string } };
    const bearer = `Bearer ${user.accessToken}`;
    await t.api
      .post('/api/v1/auth/password')
      .set('authorization', bearer)
      .send({ currentPassword: 'wrong-password-1', newPassword: 'new-password-1' })
      .expect(403);
    await t.api
      .post('/api/v1/users/me/email')
      .set('authorization', bearer)
      .send({ email: `n-${user.user.email}`, password: 'wrong-password-1' })
      .expect(403);
    expectLimited(
      await t.api
        .post('/api/v1/auth/password')
        .set('authorization', bearer)
        .send({ currentPassword: 'password-1234', newPassword: 'new-password-1' }),
    );
    expectLimited(
      await t.api
        .post('/api/v1/users/me/email')
        .set('authorization', bearer)
        .send({ email: `n-${user.user.email}`, password: 'password-1234' }),
    );
  });

  it('refresh: REFRESH_RATE_MAX_PER_SESSION per session', async () => {
    let { refreshToken } = (await freshUser()).body as { refreshToken: string };
    for (let i = 0; i < 2; i++) {
      refreshToken = (await t.api.post('/api/v1/auth/refresh').send({ refreshToken }).expect(200)).body.refreshToken;
    }
    expectLimited(await t.api.post('/api/v1/auth/refresh').send({ refreshToken }));
  });

  describe('content writes', () => {
    it('posts, comments and likes share CONTENT_RATE_LIMIT_PER_MINUTE per account', async () => {
      const author = (await freshUser()).body as { accessToken: string };
      const bearer = `Bearer ${author.accessToken}`;
      const post = await t.api
        .post('/api/v1/posts')
        .set('authorization', bearer)
        .send({ title: 'Limited', content: 'x' })
        .expect(201);
      await t.api.post(`/api/v1/posts/${post.body.id}/publish`).set('authorization', bearer).send({}).expect(200);
      await t.api.put(`/api/v1/posts/${post.body.id}/like`).set('authorization', bearer).expect(200);
      expectLimited(
        await t.api.post(`/api/v1/posts/${post.body.id}/comments`).set('authorization', bearer).send({ content: 'Hi' }),
      );
      // Another account has its own budget.
      const other = (await freshUser()).body as { accessToken: string };
      await t.api
        .put(`/api/v1/posts/${post.body.id}/like`)
        .set('authorization', `Bearer ${other.accessToken}`)
        .expect(200);
    });

    /** A Conduit account (POST /api/users) registered from an IP of its own. */
    const conduitUser = async () => {
      const name = `c${nanoid(8)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      const res = await t.api
        .post('/api/users')
        .set('x-forwarded-for', newIp())
        .send({ user: { username: name, email: `${name}@example.com`, password: 'password-1234' } })
        .expect(201);
      return { username: name, token: `Token ${(res.body as { user: { token: string } }).user.token}` };
    };
    /** A Conduit article of the user's (one content write and one publication): its slug. */
    const conduitArticle = async (user: { token: string }, title: string) => {
      const created = await t.api
        .post('/api/articles')
        .set('authorization', user.token)
        .send({ article: { title, description: 'd', body: 'b' } })
        .expect(201);
      return (created.body as { article: { slug: string } }).article.slug;
    };
    /** A Conduit 429: the RealWorld envelope (no problem+json) with the native code, and Retry-After. */
    const expectConduitLimited = (
      res: { status: number; headers: Record<string, string>; body: unknown },
      code = 'too_many_requests',
    ) => {
      expect(res.status).toBe(429);
      expect(res.body).toEqual({ errors: { body: ['Too many requests; try again later.'] }, code });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    };

    it('Conduit writes (comments, favorites, follows) count against the same budget (review 19a, H1)', async () => {
      const [author, fan] = await Promise.all([conduitUser(), conduitUser()]);
      const slug = await conduitArticle(author, 'Conduit limited');
      await t.api.post(`/api/articles/${slug}/favorite`).set('authorization', fan.token).expect(200);
      await t.api.post(`/api/profiles/${author.username}/follow`).set('authorization', fan.token).expect(200);
      await t.api
        .post(`/api/articles/${slug}/comments`)
        .set('authorization', fan.token)
        .send({ comment: { body: 'third' } })
        .expect(200);
      expectConduitLimited(
        await t.api
          .post(`/api/articles/${slug}/comments`)
          .set('authorization', fan.token)
          .send({ comment: { body: 'fourth' } }),
      );
      expectConduitLimited(await t.api.delete(`/api/articles/${slug}/favorite`).set('authorization', fan.token));
      expectConduitLimited(
        await t.api.delete(`/api/profiles/${author.username}/follow`).set('authorization', fan.token),
      );
      // One budget for both APIs: the native like is refused too, with the native problem's code.
      const native = await t.api.get(`/api/v1/posts/by-slug/${slug}`).expect(200);
      expectLimited(
        await t.api
          .put(`/api/v1/posts/${(native.body as { id: string }).id}/like`)
          .set('authorization', fan.token.replace('Token', 'Bearer')),
      );
      // Nothing of the refused writes happened.
      const comments = await t.api.get(`/api/articles/${slug}/comments`).set('authorization', fan.token).expect(200);
      expect((comments.body as { comments: { body: string }[] }).comments.map((c) => c.body)).toEqual(['third']);
    });

    it('Conduit article edits and deletes and comment deletes count too, as natively (review 19a, M3)', async () => {
      const author = await conduitUser();
      const slug = await conduitArticle(author, 'Edited');
      await t.api
        .put(`/api/articles/${slug}`)
        .set('authorization', author.token)
        .send({ article: { body: 'edited' } })
        .expect(200);
      const comment = await t.api
        .post(`/api/articles/${slug}/comments`)
        .set('authorization', author.token)
        .send({ comment: { body: 'mine' } })
        .expect(200);
      const commentId = (comment.body as { comment: { id: string } }).comment.id;
      expectConduitLimited(
        await t.api
          .put(`/api/articles/${slug}`)
          .set('authorization', author.token)
          .send({ article: { body: 'again' } }),
      );
      expectConduitLimited(
        await t.api.delete(`/api/articles/${slug}/comments/${commentId}`).set('authorization', author.token),
      );
      expectConduitLimited(await t.api.delete(`/api/articles/${slug}`).set('authorization', author.token));
      const article = await t.api.get(`/api/articles/${slug}`).expect(200);
      expect((article.body as { article: { body: string } }).article.body).toBe('edited');
      const comments = await t.api.get(`/api/articles/${slug}/comments`).set('authorization', author.token).expect(200);
      expect((comments.body as { comments: { id: string }[] }).comments.map((c) => c.id)).toEqual([commentId]);
    });

    it('a Conduit article the publication limit refuses creates none of its new tags (review 19a, M3)', async () => {
      const author = await conduitUser();
      const tag = `refused-${nanoid(6)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      await conduitArticle(author, 'First');
      // PUBLISH_RATE_MAX_PER_AUTHOR is 1 here: the second publication is refused, before its tags.
      const refused = await t.api
        .post('/api/articles')
        .set('authorization', author.token)
        .send({ article: { title: 'Second', description: 'd', body: 'b', tagList: [tag] } });
      expectConduitLimited(refused, 'too_many_publishes');
      await t.api.get(`/api/v1/tags/by-slug/${tag}`).expect(404);
    });

    it('concurrent Conduit creations racing for the last publication: one is created, the refused ones make no tag (session 20)', async () => {
      const author = await conduitUser();
      const prefix = `race-${nanoid(6)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      // PUBLISH_RATE_MAX_PER_AUTHOR is 1 and the content budget 3: three creations in parallel, each
      // with a new tag of its own, all pass the content budget and race for the one publication.
      const answers = await Promise.all(
        [0, 1, 2].map((i) =>
          t.api
            .post('/api/articles')
            .set('authorization', author.token)
            .send({ article: { title: `Race ${i}`, description: 'd', body: 'b', tagList: [`${prefix}-${i}`] } }),
        ),
      );
      expect(answers.map((res) => res.status).sort()).toEqual([201, 429, 429]);
      for (const [i, res] of answers.entries()) {
        if (res.status === 429) {
          expectConduitLimited(res, 'too_many_publishes');
          await t.api.get(`/api/v1/tags/by-slug/${prefix}-${i}`).expect(404);
        } else {
          await t.api.get(`/api/v1/tags/by-slug/${prefix}-${i}`).expect(200);
        }
      }
    });

    it('a publication taken ahead and given back is free again; giving back never goes below zero (session 20)', async () => {
      const limiter = t.app.get(RateLimiter);
      const check = { rule: { name: 'give-back-test', max: 1, windowSeconds: Number(WEEK) }, subject: nanoid() };
      const at = t.clock.now();
      await limiter.take(check, 1, ErrorCode.TooManyPublishes, at);
      await expect(limiter.take(check, 1, ErrorCode.TooManyPublishes, at)).rejects.toMatchObject({ status: 429 });
      await limiter.giveBack(check, 1, at);
      await limiter.giveBack(check, 1, at);
      // Back at 0, not -1: one take fits again, a second does not.
      await limiter.take(check, 1, ErrorCode.TooManyPublishes, at);
      await expect(limiter.take(check, 1, ErrorCode.TooManyPublishes, at)).rejects.toMatchObject({ status: 429 });
    });

    it('new Conduit tags count per tag against TAG_CREATE_RATE_MAX_PER_ACCOUNT; one asking for more than is left creates none (review 19c, M2)', async () => {
      const author = await conduitUser();
      const prefix = `nt-${nanoid(6)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      const names = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`);
      // 10 new tags of the 12 (the article is one content write and one publication).
      const created = await t.api
        .post('/api/articles')
        .set('authorization', author.token)
        .send({ article: { title: 'Ten tags', description: 'd', body: 'b', tagList: names(0, 10) } })
        .expect(201);
      const { slug } = (created.body as { article: { slug: string } }).article;
      // 10 more through PUT: only 2 are left, so the request is refused whole and creates none.
      const refused = await t.api
        .put(`/api/articles/${slug}`)
        .set('authorization', author.token)
        .send({ article: { tagList: names(10, 10) } });
      expectConduitLimited(refused, 'too_many_new_tags');
      for (const name of [names(10, 1)[0], names(19, 1)[0]])
        await t.api.get(`/api/v1/tags/by-slug/${name}`).expect(404);
      // Existing names cost nothing; two new ones fit (an article has at most 10 tags).
      const edited = await t.api
        .put(`/api/articles/${slug}`)
        .set('authorization', author.token)
        .send({ article: { tagList: [...names(0, 8), ...names(20, 2)] } })
        .expect(200);
      expect((edited.body as { article: { tagList: string[] } }).article.tagList).toHaveLength(10);
    });

    it('staff are exempt', async () => {
      const admin = await signInAdmin(t);
      for (let i = 0; i < 5; i++) {
        await t.api
          .post('/api/v1/posts')
          .set('authorization', admin.bearer)
          .send({ title: `Staff ${i}`, content: 'x' })
          .expect(201);
      }
    });
  });

  describe('login', () => {
    it('counts failures only: successful sign-ins never trip the account limit', async () => {
      const user = await freshAccount();
      const ip = newIp();
      for (let i = 0; i < 5; i++) await login(ip, user.email, user.password).expect(200);
    });

    it('trips at LOGIN_RATE_MAX_PER_ACCOUNT failures, with 429 too_many_login_attempts and Retry-After', async () => {
      const user = await freshAccount();
      const ip = newIp();
      for (let i = 0; i < 3; i++) await login(ip, user.email, 'wrong-password-1').expect(401);
      expectLimited(await login(ip, user.email, user.password), 'too_many_login_attempts');
    });

    it('a successful sign-in clears the failure count', async () => {
      const user = await freshAccount();
      const ip = newIp();
      for (let i = 0; i < 2; i++) await login(ip, user.email, 'wrong-password-1').expect(401);
      await login(ip, user.email, user.password).expect(200);
      for (let i = 0; i < 2; i++) await login(ip, user.email, 'wrong-password-1').expect(401);
      // Four failures in the window, but the success in between reset the count: not locked.
      await login(ip, user.email, user.password).expect(200);
    });

    it('a tripped account answers 429 only to the IPs that failed: the owner still signs in', async () => {
      const user = await freshAccount();
      const attacker = newIp();
      for (let i = 0; i < 3; i++) await login(attacker, user.email, 'wrong-password-1').expect(401);
      expectLimited(await login(attacker, user.email, 'wrong-password-1'), 'too_many_login_attempts');
      await login(newIp(), user.email, user.password).expect(200);
    });

    it('a tripped account answers 429 to every address of a /64 that failed, not only to the one that did', async () => {
      const user = await freshAccount();
      const block = newBlock();
      for (let i = 0; i < 3; i++) await login(`${block}:${i + 1}`, user.email, 'wrong-password-1').expect(401);
      // A fresh interface identifier is not a fresh attempt (it was: 2^64 guesses past the trip).
      expectLimited(await login(`${block}abcd::9`, user.email, 'wrong-password-1'), 'too_many_login_attempts');
      await login(`${newBlock()}:1`, user.email, user.password).expect(200);
    });

    it('a tripped account refuses a whole /48 once its /64s together failed 10 times the maximum (review 20b M1), not before: an owner sharing it still signs in (review 20c L1)', async () => {
      const user = await freshAccount();
      const site = newBlock().split(':').slice(0, 3).join(':'); // a fresh /48
      for (let i = 0; i < 3; i++) await login(`${site}:${i + 1}::1`, user.email, 'wrong-password-1').expect(401);
      // The /64s that failed are refused; the owner in another /64 of the /48 gets a password check.
      expectLimited(await login(`${site}:1::2`, user.email, 'wrong-password-1'), 'too_many_login_attempts');
      await login(`${site}:ffff::1`, user.email, user.password).expect(200);

      const target = await freshAccount();
      for (let i = 0; i < 3; i++) await login(`${site}:${i + 1}::1`, target.email, 'wrong-password-1').expect(401);
      // Each other /64 of the /48 has its guess past the trip, until the /48 has failed 30 times (3 x 10).
      for (let i = 4; i <= 30; i++)
        await login(`${site}:${i.toString(16)}::1`, target.email, 'wrong-password-1').expect(401);
      expectLimited(await login(`${site}:abcd::1`, target.email, 'wrong-password-1'), 'too_many_login_attempts');
      expectLimited(await login(`${site}:abce::1`, target.email, target.password), 'too_many_login_attempts');
      await login(`${newBlock()}:1`, target.email, target.password).expect(200);
    });

    /** Statuses of a burst, counted: `{ 401: 1, 429: 19 }`. */
    const tally = (responses: { status: number }[]) =>
      responses.reduce<Record<number, number>>(
        (counts, r) => ({ ...counts, [r.status]: (counts[r.status] ?? 0) + 1 }),
        {},
      );

    it('past the trip, a burst of parallel guesses from one address gets one password check, not one per request (review 22a M4)', async () => {
      const user = await freshAccount();
      const attacker = newIp();
      for (let i = 0; i < 3; i++) await login(attacker, user.email, 'wrong-password-1').expect(401);
      const burst = newIp();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => login(burst, user.email, 'wrong-password-1').then((r) => r)),
      );
      expect(tally(answers)).toEqual({ 401: 1, 429: 19 });
      for (const refused of answers.filter((r) => r.status === 429)) expectLimited(refused, 'too_many_login_attempts');
      // An unknown email is refused the same way (its counters are the email's, not an account's).
      const nobody = `rl-${nanoid(8).toLowerCase()}@example.com`;
      for (let i = 0; i < 3; i++) await login(attacker, nobody, 'wrong-password-1').expect(401);
      const unknown = await Promise.all(
        Array.from({ length: 20 }, () => login(burst, nobody, 'wrong-password-1').then((r) => r)),
      );
      expect(tally(unknown)).toEqual({ 401: 1, 429: 19 });
      // The owner elsewhere still signs in.
      await login(newIp(), user.email, user.password).expect(200);
    });

    it('before the trip, a parallel burst gets at most the maximum password checks (review 22a M4)', async () => {
      const user = await freshAccount();
      await login(newIp(), user.email, 'wrong-password-1').expect(401); // a failure on record
      const burst = newIp();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => login(burst, user.email, 'wrong-password-1').then((r) => r)),
      );
      const counts = tally(answers);
      // Two failure slots were left; an address may also have its one guess past the trip.
      expect(counts[401]).toBeGreaterThanOrEqual(2);
      expect(counts[401]).toBeLessThanOrEqual(3);
      expect(counts[401] + counts[429]).toBe(20);
      expectLimited(await login(burst, user.email, user.password), 'too_many_login_attempts');
    });

    it('past the trip, the right password in a parallel burst signs in only if it was the one guess taken (review 22a M4)', async () => {
      const user = await freshAccount();
      const attacker = newIp();
      for (let i = 0; i < 3; i++) await login(attacker, user.email, 'wrong-password-1').expect(401);
      const burst = newIp();
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          login(burst, user.email, i === 10 ? user.password : 'wrong-password-1').then((r) => r),
        ),
      );
      const counts = tally(answers);
      // One password check: either the right one (200) or a wrong one (401), never both.
      expect(counts[429]).toBe(19);
      expect((counts[200] ?? 0) + (counts[401] ?? 0)).toBe(1);
      if (counts[200]) expect(answers[10].status).toBe(200);
    });

    it('a tripped account refuses the address that failed whatever port a proxy wrote with it (review 20b L1)', async () => {
      const other = await freshAccount();
      const ip = newIp();
      // A proxy that writes the source port: each port was a subject of its own.
      for (let i = 0; i < 3; i++) await login(`${ip}:${40000 + i}`, other.email, 'wrong-password-1').expect(401);
      expectLimited(await login(`${ip}:50000`, other.email, 'wrong-password-1'), 'too_many_login_attempts');
      expectLimited(await login(ip, other.email, 'wrong-password-1'), 'too_many_login_attempts');
    });
  });

  describe('views', () => {
    it('count once per viewer per post per hour: a signed-in user, or else an address (an IPv6 /64), whatever the user agent', async () => {
      const author = (await freshUser()).body as { accessToken: string };
      const bearer = `Bearer ${author.accessToken}`;
      const post = await t.api
        .post('/api/v1/posts')
        .set('authorization', bearer)
        .send({ title: 'Viewed', content: 'x' })
        .expect(201);
      await t.api.post(`/api/v1/posts/${post.body.id}/publish`).set('authorization', bearer).send({}).expect(200);
      const view = (ip: string, ua: string) =>
        t.api.post(`/api/v1/posts/${post.body.id}/views`).set('x-forwarded-for', ip).set('user-agent', ua);

      // A view answers the count read plus itself; the stream folds the counted views in (view shards).
      const ip = newIp();
      const loop = await Promise.all(Array.from({ length: 10 }, () => view(ip, 'curl/8')));
      expect(loop.every((r) => r.status === 200)).toBe(true);
      await t.mailSent();
      expect((await view(ip, 'curl/8').expect(200)).body.viewCount).toBe(1);
      // The user agent is the caller's choice: 40 of them from one address are one viewer (review
      // 19a M2: each was a new viewer, a view and a marker write per request).
      for (let i = 0; i < 40; i++) await view(ip, `ua-${i}`).expect(200);
      await t.mailSent();
      expect((await view(ip, 'Firefox').expect(200)).body.viewCount).toBe(1);
      expect((await view(newIp(), 'curl/8').expect(200)).body.viewCount).toBe(2);
      await t.mailSent();
      // An IPv6 client is its /64: other interface identifiers in it are the same viewer, another /64 is not.
      expect((await view('2001:db8:7:1::1', 'a').expect(200)).body.viewCount).toBe(3);
      await t.mailSent();
      for (const address of ['2001:db8:7:1::2', '2001:db8:7:1:ffff:1:2:3', '2001:0db8:0007:0001:0::9']) {
        expect((await view(address, 'b').expect(200)).body.viewCount).toBe(3);
      }
      expect((await view('2001:db8:7:2::1', 'a').expect(200)).body.viewCount).toBe(4);
      await t.mailSent();
      // A signed-in viewer is one viewer from any address.
      await view(newIp(), 'a').set('authorization', bearer).expect(200);
      await t.mailSent();
      expect((await view(newIp(), 'b').set('authorization', bearer).expect(200)).body.viewCount).toBe(5);
    });

    it('count at most VIEW_RATE_MAX_PER_CLIENT per client address per window; past it a view is served, not counted', async () => {
      const author = (await freshUser()).body as { accessToken: string };
      const post = await t.api
        .post('/api/v1/posts')
        .set('authorization', `Bearer ${author.accessToken}`)
        .send({ title: 'Viewed from one /64', content: 'x' })
        .expect(201);
      await t.api
        .post(`/api/v1/posts/${post.body.id}/publish`)
        .set('authorization', `Bearer ${author.accessToken}`)
        .send({})
        .expect(200);
      // Five signed-in readers (five viewers) behind one IPv6 /64, each on an address of its own.
      const readers = await Promise.all(
        Array.from(
          { length: 5 },
          async () => `Bearer ${((await freshUser()).body as { accessToken: string }).accessToken}`,
        ),
      );
      const block = newBlock();
      const views: number[] = [];
      for (const [i, bearer] of readers.entries()) {
        const res = await t.api
          .post(`/api/v1/posts/${post.body.id}/views`)
          .set('x-forwarded-for', `${block}:${i + 1}`)
          .set('authorization', bearer)
          .expect(200);
        views.push(res.body.viewCount as number);
      }
      // Three counted (the budget); the fourth and fifth answer the count as read and add nothing.
      expect(views).toEqual([1, 1, 1, 0, 0]);
      await t.mailSent();
      const read = await t.api.get(`/api/v1/posts/${post.body.id}`).expect(200);
      expect(read.body).toMatchObject({ title: 'Viewed from one /64', viewCount: 3 });
      // The block's budget is spent for every post; another client's is not.
      const anonymous = (ip: string) => t.api.post(`/api/v1/posts/${post.body.id}/views`).set('x-forwarded-for', ip);
      expect((await anonymous(`${block}:99`).expect(200)).body.viewCount).toBe(3);
      expect((await anonymous(newIp()).expect(200)).body.viewCount).toBe(4);
    });
  });
});
