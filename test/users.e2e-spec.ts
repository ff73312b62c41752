import { UsersService } from '../src/users/users.service.js';
import {
  confirmEmailChange,
  createTestApp,
  moveEmail,
  requestEmailChange,
  signUp,
  type SignedIn,
  type TestApp,
  verifyEmail,
} from './helpers/test-app.js';

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
        followerCount: 0,
        followingCount: 0,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/email|passwordHash|role|"PK"|"SK"|GSI|version/);
      // User and profile versions, then the follower and following counts (issue 18).
      expect(res.headers.etag).toBe('"1.1.0.0"');
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

  describe('GET/PATCH /api/v1/users/me', () => {
    let me: SignedIn;
    beforeEach(async () => {
      me = await signUp(t);
    });
    const get = () => t.api.get('/api/v1/users/me').set('authorization', me.bearer);
    const patch = (body: object, ifMatch?: string) => {
      const req = t.api.patch('/api/v1/users/me').set('authorization', me.bearer);
      return (ifMatch ? req.set('if-match', ifMatch) : req).send(body);
    };

    it('returns the caller with profile and an ETag', async () => {
      const res = await get().expect(200);
      expect(res.body).toMatchObject({
        id: me.userId,
        email: me.email,
        role: 'user',
        status: 'pending',
        emailVerified: false,
        loginCount: 1,
      });
      expect(res.body.profile).toMatchObject({ version: 1 });
      expect(res.headers.etag).toBe('"1"');
      expect((await t.api.get('/api/v1/users/me').expect(401)).body.code).toBe('missing_token');
    });

    it('changes names and the username, swapping the uniqueness items', async () => {
      const old = (await get()).body.username as string;
      const res = await patch({ firstName: 'Ada', username: 'Countess_Ada' }, '"1"').expect(200);
      expect(res.body).toMatchObject({ firstName: 'Ada', username: 'countess_ada', version: 2 });
      expect(res.headers.etag).toBe('"2"');
      expect(await t.getItem(`UNIQUE#USERNAME#${old}`, 'UNIQUE')).toBeUndefined();
      expect((await t.getItem('UNIQUE#USERNAME#countess_ada', 'UNIQUE'))?.userId).toBe(me.userId);
      await t.api.get('/api/v1/users/by-username/countess_ada').expect(200);
      expect((await t.api.get(`/api/v1/users/by-username/${old}`).expect(404)).body.code).toBe('user_not_found');
    });

    it('answers 409 for a taken username and changes nothing', async () => {
      const other = await signUp(t, { username: 'taken_name' });
      expect((await t.getItem('UNIQUE#USERNAME#taken_name', 'UNIQUE'))?.userId).toBe(other.userId);
      const res = await patch({ username: 'taken_name', firstName: 'X' }).expect(409);
      expect(res.body.code).toBe('username_taken');
      expect((await get()).body).toMatchObject({ version: 1 });
      expect((await get()).body.firstName).toBeUndefined();
    });

    it.each([
      ['role', { role: 'admin' }],
      ['status', { status: 'active' }],
      ['email', { email: 'evil@example.com' }],
      ['loginCount', { loginCount: 99 }],
      ['PK', { PK: 'USER#someone' }],
      ['SK', { SK: 'USER' }],
      ['version', { version: 42 }],
      ['emailVerified', { emailVerified: true }],
    ])('refuses %s in the body with 400 and leaves the item unchanged', async (_field, body) => {
      const before = await t.getItem(`USER#${me.userId}`, 'USER');
      const res = await patch({ firstName: 'Mallory', ...body }).expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(await t.getItem(`USER#${me.userId}`, 'USER')).toEqual(before);
    });

    it('answers 412 for a stale If-Match and 400 for a malformed one', async () => {
      await patch({ firstName: 'One' }, '"1"').expect(200);
      const stale = await patch({ firstName: 'Two' }, '"1"').expect(412);
      expect(stale.body.code).toBe('version_mismatch');
      expect((await get()).body.firstName).toBe('One');
      expect((await patch({ firstName: 'Three' }, 'yesterday').expect(400)).body.code).toBe('invalid_if_match');
    });

    it('lets exactly one of 20 concurrent PATCHes with the same If-Match win', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => patch({ firstName: `Name${i}` }, '"1"')));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(19);
      const after = (await get()).body;
      expect(after.version).toBe(2);
      expect(after.firstName).toBe(results.find((r) => r.status === 200)!.body.firstName);
    });
  });

  describe('POST /api/v1/users/me/email', () => {
    it('202: asks the new address to confirm; its link swaps the email uniqueness items, the new address verified (review 22a M3)', async () => {
      const me = await signUp(t);
      const res = await t.api
        .post('/api/v1/users/me/email')
        .set('authorization', me.bearer)
        .send({ email: ' New.Address@Example.com ', password: me.password })
        .expect(202);
      expect(res.body).toEqual({ pendingEmail: 'new.address@example.com', expiresAt: expect.any(String) });
      // Pending: nothing moved, nothing held.
      expect(await t.getItem('UNIQUE#EMAIL#new.address@example.com', 'UNIQUE')).toBeUndefined();
      expect((await t.getItem(`USER#${me.userId}`, 'USER'))?.email).toBe(me.email);
      await t.mailSent();
      const mail = t.mailer.last('new.address@example.com', 'email_change');
      expect(mail?.link).toMatch(/\/confirm-email-change\?token=[A-Za-z0-9_-]{43}$/);
      await confirmEmailChange(t, t.mailer.tokenFor('new.address@example.com', 'email_change')).expect(204);
      expect(await t.getItem(`USER#${me.userId}`, 'USER')).toMatchObject({
        email: 'new.address@example.com',
        emailVerified: true,
        status: 'active',
      });
      // Never verified, the old address is released (a verified one stays reserved for the change's
      // undo link: test/email-revert.e2e-spec.ts).
      expect(await t.getItem(`UNIQUE#EMAIL#${me.email}`, 'UNIQUE')).toBeUndefined();
      expect((await t.getItem('UNIQUE#EMAIL#new.address@example.com', 'UNIQUE'))?.userId).toBe(me.userId);
      await t.api
        .post('/api/v1/auth/login')
        .send({ email: 'new.address@example.com', password: me.password })
        .expect(200);
      expect(
        (await t.api.post('/api/v1/auth/login').send({ email: me.email, password: me.password }).expect(401)).body.code,
      ).toBe('invalid_credentials');
    });

    it('refuses a wrong password (403) and a taken email (409)', async () => {
      const me = await signUp(t);
      const other = await signUp(t);
      const wrong = await t.api
        .post('/api/v1/users/me/email')
        .set('authorization', me.bearer)
        .send({ email: 'x@example.com', password: 'nope-nope' })
        .expect(403);
      expect(wrong.body.code).toBe('wrong_password');
      const taken = await t.api
        .post('/api/v1/users/me/email')
        .set('authorization', me.bearer)
        .send({ email: other.email, password: me.password })
        .expect(409);
      expect(taken.body.code).toBe('email_taken');
      expect((await t.getItem(`USER#${me.userId}`, 'USER'))?.email).toBe(me.email);
    });

    it('a suspended account cannot complete its pending change: 400 invalid_or_expired_token, the address unchanged (review 23 L-1)', async () => {
      const me = await signUp(t);
      const token = await requestEmailChange(t, me, `suspended-${me.email}`);
      await t.app.get(UsersService).setStatus(me.userId, 'suspended');
      const res = await confirmEmailChange(t, token).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalid_or_expired_token');
      expect(await t.getItem(`USER#${me.userId}`, 'USER')).toMatchObject({ email: me.email, status: 'suspended' });
      expect(await t.getItem(`UNIQUE#EMAIL#suspended-${me.email}`, 'UNIQUE')).toBeUndefined();
      // Nor is a confirmation mailed for a change asked before the suspension but not yet sent.
      const other = await signUp(t);
      await t.mailSent();
      await t.api
        .post('/api/v1/users/me/email')
        .set('authorization', other.bearer)
        .send({ email: `late-${other.email}`, password: other.password })
        .expect(202);
      await t.app.get(UsersService).setStatus(other.userId, 'suspended');
      await t.mailSent();
      expect(t.mailer.tokenFor(`late-${other.email}`, 'email_change')).toBeUndefined();
    });

    it('makes a verification link sent to the old address useless', async () => {
      const me = await signUp(t);
      await t.mailSent();
      const oldToken = t.mailer.tokenFor(me.email, 'email_verification')!;
      await moveEmail(t, me, `moved-${me.email}`);
      expect(
        (await t.api.post('/api/v1/auth/verify-email/confirm').send({ token: oldToken }).expect(400)).body.code,
      ).toBe('invalid_or_expired_token');
      expect((await t.getItem(`USER#${me.userId}`, 'USER'))?.email).toBe(`moved-${me.email}`);
    });
  });

  describe('GET/PATCH /api/v1/users/me/profile', () => {
    let me: SignedIn;
    beforeAll(async () => {
      me = await signUp(t);
    });
    const patch = (body: object, ifMatch?: string) => {
      const req = t.api.patch('/api/v1/users/me/profile').set('authorization', me.bearer);
      return (ifMatch ? req.set('if-match', ifMatch) : req).send(body);
    };

    it('updates, clears with null, and shows public fields on the public page only', async () => {
      const full = {
        bio: 'Analyst.',
        avatarUrl: 'https://example.com/a.png',
        website: 'https://ada.example',
        location: 'London',
        dateOfBirth: '1815-12-10',
        phoneNumber: '+447700900123',
        socialLinks: [{ network: 'github', url: 'https://github.com/ada' }],
        preferences: { theme: 'dark', digest: true, pageSize: 20 },
      };
      const res = await patch(full).expect(200);
      expect(res.body).toMatchObject({ ...full, version: 2 });
      expect(res.headers.etag).toBe('"2"');
      const publicView = await t.api.get(`/api/v1/users/${me.userId}`).expect(200);
      expect(publicView.body.profile).toEqual({
        bio: 'Analyst.',
        avatarUrl: full.avatarUrl,
        website: full.website,
        location: 'London',
        socialLinks: full.socialLinks,
      });
      const cleared = await patch({ location: null }, '"2"').expect(200);
      expect(cleared.body.location).toBeUndefined();
      expect(
        (await t.api.get('/api/v1/users/me/profile').set('authorization', me.bearer).expect(200)).headers.etag,
      ).toBe('"3"');
      expect((await patch({ bio: 'stale' }, '"2"').expect(412)).body.code).toBe('version_mismatch');
    });

    it("checks that a birth date is in the past on the app's clock, not the machine's", async () => {
      // The app stands at 2000-06-01: a date of 2001 lies in its future, though in the machine's past.
      t.clock.set('2000-06-01T12:00:00.000Z');
      try {
        const before = await t.getItem(`USER#${me.userId}`, 'USER#PROFILE');
        const refused = await patch({ dateOfBirth: '2001-01-01' }).expect(400);
        expect(refused.body).toMatchObject({
          code: 'validation_failed',
          errors: [{ field: 'dateOfBirth', messages: ['dateOfBirth must be a real date (YYYY-MM-DD) in the past'] }],
        });
        expect(await t.getItem(`USER#${me.userId}`, 'USER#PROFILE')).toEqual(before);
        await patch({ dateOfBirth: '2000-05-31' }).expect(200);
      } finally {
        t.clock.reset();
      }
    });

    it.each([
      ['a non-http URL', { website: 'javascript:alert(1)' }],
      ['an ftp avatar', { avatarUrl: 'ftp://example.com/a.png' }],
      ['a future birth date', { dateOfBirth: '2999-01-01' }],
      ['an impossible date', { dateOfBirth: '2001-02-30' }],
      ['a date with a time', { dateOfBirth: '2001-02-03T00:00:00Z' }],
      ['a bad phone number', { phoneNumber: '0800 CALL ME' }],
      [
        '11 social links',
        { socialLinks: Array.from({ length: 11 }, (_, i) => ({ network: `n${i}`, url: 'https://x.example' })) },
      ],
      ['a social link without url', { socialLinks: [{ network: 'github' }] }],
      ['21 preferences', { preferences: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) }],
      ['a nested preference', { preferences: { deep: { a: 1 } } }],
      ['a long bio', { bio: 'x'.repeat(1001) }],
      ['an unknown field', { userId: 'someone' }],
    ])('refuses %s with 400', async (_name, body) => {
      const before = await t.getItem(`USER#${me.userId}`, 'USER#PROFILE');
      const res = await patch(body).expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(await t.getItem(`USER#${me.userId}`, 'USER#PROFILE')).toEqual(before);
    });
  });

  describe('GET /api/v1/users/by-username/{username}', () => {
    it('finds a user by username in any case, and 404s for unknown ones', async () => {
      const user = await signUp(t, { username: 'findable' });
      const res = await t.api.get('/api/v1/users/by-username/FINDABLE').expect(200);
      expect(res.body.id).toBe(user.userId);
      expect((await t.api.get('/api/v1/users/by-username/nobody-here').expect(404)).body.code).toBe('user_not_found');
    });
  });

  describe('DELETE /api/v1/users/me', () => {
    it('deactivates: sessions end, sign-in is refused, the public page is gone', async () => {
      const me = await signUp(t, { username: 'leaving' });
      const before = t.clock.now().toISOString();
      await t.api
        .delete('/api/v1/users/me')
        .set('authorization', me.bearer)
        .send({ password: me.password })
        .expect(204);
      const after = t.clock.now().toISOString();
      const item = await t.getItem(`USER#${me.userId}`, 'USER');
      expect(item).toMatchObject({ status: 'inactive' });
      expect(String(item?.deletedAt) >= before && String(item?.deletedAt) <= after).toBe(true);
      await t.api.get('/api/v1/users/me').set('authorization', me.bearer).expect(401);
      expect(
        (await t.api.post('/api/v1/auth/login').send({ email: me.email, password: me.password }).expect(403)).body.code,
      ).toBe('account_inactive');
      await t.api.get(`/api/v1/users/${me.userId}`).expect(404);
      await t.api.get('/api/v1/users/by-username/leaving').expect(404);
    });

    it('needs the current password (review 22a M1): none is 400 password_required, a wrong one 403 wrong_password, nothing written', async () => {
      const me = await signUp(t);
      const before = await t.getItem(`USER#${me.userId}`, 'USER');
      const remove = () => t.api.delete('/api/v1/users/me').set('authorization', me.bearer);
      const missing = await remove().expect(400);
      expect(missing.headers['content-type']).toContain('application/problem+json');
      expect(missing.body.code).toBe('password_required');
      expect((await remove().send({}).expect(400)).body.code).toBe('password_required');
      expect((await remove().query({ mode: 'deactivate' }).expect(400)).body.code).toBe('password_required');
      expect((await remove().send({ password: 'not-my-password' }).expect(403)).body.code).toBe('wrong_password');
      expect(await t.getItem(`USER#${me.userId}`, 'USER')).toEqual(before);
      await t.api.get('/api/v1/users/me').set('authorization', me.bearer).expect(200);
      await remove().send({ password: me.password }).expect(204);
      expect(await t.getItem(`USER#${me.userId}`, 'USER')).toMatchObject({
        status: 'inactive',
        deactivatedBy: 'owner',
      });
    });

    it('mails the owner a notice, and a reset by mail makes a verified account active again: sign-in 200 (review 22a M1)', async () => {
      const me = await signUp(t);
      await verifyEmail(t, me);
      await t.api
        .delete('/api/v1/users/me')
        .set('authorization', me.bearer)
        .send({ password: me.password })
        .expect(204);
      await t.mailSent();
      expect(t.mailer.last(me.email, 'account_deactivated')).toMatchObject({ subject: 'Your account was deactivated' });
      const signIn = () => t.api.post('/api/v1/auth/login').send({ email: me.email, password: 'come-back-1234' });
      expect((await signIn().expect(401)).body.code).toBe('invalid_credentials');

      await t.api.post('/api/v1/auth/password-reset/request').send({ email: me.email }).expect(202);
      await t.mailSent();
      const token = t.mailer.tokenFor(me.email, 'password_reset');
      expect(token).toBeDefined();
      await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token, newPassword: 'come-back-1234' })
        .expect(204);
      const item = await t.getItem(`USER#${me.userId}`, 'USER');
      expect(item).toMatchObject({ status: 'active', emailVerified: true });
      expect(item).not.toHaveProperty('deactivatedBy');
      // Listed as active again (the listing keys moved with the status).
      expect(item?.GSI2PK).toMatch(/^USERS#STATUS#active#/);
      await signIn().expect(200);
      await t.api.get(`/api/v1/users/${me.userId}`).expect(200);
      // The notice went out once, for the one deactivation.
      await t.mailSent();
      expect(t.mailer.outbox.filter((m) => m.to === me.email && m.kind === 'account_deactivated')).toHaveLength(1);
    });

    it('an account an admin deactivated gets no reset mail, and a link mailed before does not reopen it; nor does a suspended one reopen', async () => {
      const users = t.app.get(UsersService);
      const reset = async (who: SignedIn, token: string | undefined) => {
        await t.api
          .post('/api/v1/auth/password-reset/confirm')
          .send({ token, newPassword: 'come-back-1234' })
          .expect(204);
        return t.api.post('/api/v1/auth/login').send({ email: who.email, password: 'come-back-1234' }).expect(403);
      };
      const earlyLink = async (who: SignedIn) => {
        await t.api.post('/api/v1/auth/password-reset/request').send({ email: who.email }).expect(202);
        await t.mailSent();
        return t.mailer.tokenFor(who.email, 'password_reset');
      };
      const byAdmin = await signUp(t);
      const early = await earlyLink(byAdmin);
      await users.deactivate(byAdmin.userId, 'admin');
      await t.mailSent();
      const mailed = t.mailer.outbox.length;
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: byAdmin.email }).expect(202);
      await t.mailSent();
      expect(t.mailer.outbox.slice(mailed).filter((m) => m.to === byAdmin.email)).toEqual([]);
      expect((await reset(byAdmin, early)).body.code).toBe('account_inactive');
      expect(await t.getItem(`USER#${byAdmin.userId}`, 'USER')).toMatchObject({
        status: 'inactive',
        deactivatedBy: 'admin',
      });

      const suspended = await signUp(t);
      const link = await earlyLink(suspended);
      await users.setStatus(suspended.userId, 'suspended');
      expect((await reset(suspended, link)).body.code).toBe('account_suspended');
      expect(await t.getItem(`USER#${suspended.userId}`, 'USER')).toMatchObject({ status: 'suspended' });
    });
  });
});
