import { jest } from '@jest/globals';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addCallHook } from '../src/dynamo/dynamo-client.factory.js';
import { DYNAMODB_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { UsersService } from '../src/users/users.service.js';
import { UserErasureWorkflow } from '../src/workflows/user-erasure.workflow.js';
import { sweepEndedSessions } from '../src/admin-tools/session-sweep.js';
import { processStream } from './helpers/stream.js';
import { craftJwt, decodeJwt } from './helpers/jwt.js';
import { captureLogs } from './helpers/log-capture.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  moveEmail,
  signInAdmin,
  signUp,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

const logs = captureLogs([
  'password-1234',
  ADMIN_ENV.ADMIN_PASSWORD,
  'stranger-pass-1',
  'after-reset-1',
  'after-reset-2',
  'changed-pass-1',
  'changed-pass-2',
]);

const login = (t: TestApp, email: string, password: string) =>
  t.api.post('/api/v1/auth/login').send({ email, password });
const me = (t: TestApp, bearer: string) => t.api.get('/api/v1/users/me').set('authorization', bearer);
const resetTokens = (t: TestApp, email: string): string[] =>
  t.mailer.outbox
    .filter((m) => m.to === email && m.kind === 'password_reset')
    .map((m) => new URL(m.link!).searchParams.get('token')!);
const requestReset = async (t: TestApp, email: string): Promise<string> => {
  await t.api.post('/api/v1/auth/password-reset/request').send({ email }).expect(202);
  await t.mailSent();
  return resetTokens(t, email).at(-1)!;
};
const confirmReset = (t: TestApp, token: string, newPassword: string) =>
  t.api.post('/api/v1/auth/password-reset/confirm').send({ token, newPassword });

describe('account security (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('admin bootstrap', () => {
    it('takes over an account a stranger registered with ADMIN_EMAIL: password, sessions and links', async () => {
      const stranger = await signUp(t, { email: ADMIN_ENV.ADMIN_EMAIL, password: 'stranger-pass-1' });
      const phone = (await login(t, stranger.email, stranger.password).expect(200)).body as { refreshToken: string };
      const strangersLink = await requestReset(t, stranger.email);

      // The operator starts the service with ADMIN_EMAIL/ADMIN_PASSWORD on the same data.
      const restarted = await createTestApp(ADMIN_ENV, { tableName: t.tableName });
      try {
        const admin = await signInAdmin(restarted);
        expect(admin.accessToken).toBeDefined();
        const account = (await me(restarted, admin.bearer).expect(200)).body;
        expect(account).toMatchObject({ id: stranger.userId, role: 'admin', status: 'active', emailVerified: true });

        const refused = await login(restarted, stranger.email, 'stranger-pass-1').expect(401);
        expect(refused.body.code).toBe('invalid_credentials');
        expect((await me(restarted, stranger.bearer).expect(401)).body.code).toBe('session_revoked');
        await restarted.api.post('/api/v1/auth/refresh').send({ refreshToken: phone.refreshToken }).expect(401);
        await confirmReset(restarted, strangersLink, 'after-reset-1').expect(400);
        await login(restarted, ADMIN_ENV.ADMIN_EMAIL, ADMIN_ENV.ADMIN_PASSWORD).expect(200);

        expect(logs.lines.some((line) => /existing account .* was taken over by the admin bootstrap/.test(line))).toBe(
          true,
        );

        // Its notice says an administrator set the password, not that it was reset (session 21).
        await restarted.mailSent();
        const notices = [...t.mailer.outbox, ...restarted.mailer.outbox].filter(
          (m) => m.to === stranger.email && m.kind === 'password_changed',
        );
        expect(notices.map((m) => m.subject)).toEqual(['An administrator set a new password for your account']);
      } finally {
        await restarted.app.close();
      }
    });

    it('tells `user:role` that it made an admin of an unverified account', async () => {
      const user = await signUp(t);
      const result = (await t.app.get(UsersService).setRoleByEmail(user.email, 'admin')) as unknown as {
        unverifiedStaff?: boolean;
      };
      expect(result.unverifiedStaff).toBe(true);
    });
  });

  describe('reset links are bound to the user, the email and the reset generation', () => {
    it('dies when another reset completes', async () => {
      const user = await signUp(t);
      const first = await requestReset(t, user.email);
      const second = await requestReset(t, user.email);
      await confirmReset(t, second, 'after-reset-1').expect(204);
      const stale = await confirmReset(t, first, 'after-reset-2').expect(400);
      expect(stale.body.code).toBe('invalid_or_expired_token');
      await login(t, user.email, 'after-reset-1').expect(200);
    });

    it('survives a password change: the mailbox trumps the password, and the changer is signed out (review 16a M1)', async () => {
      const victim = await signUp(t);
      const link = await requestReset(t, victim.email);
      // Someone holding the password and a session changes it, twice (each change once killed every link).
      const signedIn = (await login(t, victim.email, victim.password).expect(200)).body as {
        accessToken: string;
        refreshToken: string;
      };
      const attacker = { bearer: `Bearer ${signedIn.accessToken}`, refreshToken: signedIn.refreshToken };
      for (const [currentPassword, newPassword] of [
        [victim.password, 'changed-pass-1'],
        ['changed-pass-1', 'changed-pass-2'],
      ]) {
        await t.api
          .post('/api/v1/auth/password')
          .set('authorization', attacker.bearer)
          .send({ currentPassword, newPassword })
          .expect(204);
      }
      await me(t, attacker.bearer).expect(200);

      await confirmReset(t, link, 'after-reset-1').expect(204);
      expect((await me(t, attacker.bearer).expect(401)).body.code).toBe('session_revoked');
      await t.api.post('/api/v1/auth/refresh').send({ refreshToken: attacker.refreshToken }).expect(401);
      await login(t, victim.email, 'changed-pass-2').expect(401);
      await login(t, victim.email, 'after-reset-1').expect(200);
      // Still single use.
      const again = await confirmReset(t, link, 'after-reset-2').expect(400);
      expect(again.body.code).toBe('invalid_or_expired_token');
    });

    it('minted before reset generations (no resetGeneration): stays bound to the password generation', async () => {
      const user = await signUp(t);
      // As a link of the previous build: its item carries only the password generation.
      const asOlderBuild = async (token: string) => {
        const hash = createHash('sha256').update(token).digest('hex');
        await t.db.send(
          new UpdateCommand({
            TableName: t.tableName,
            Key: { PK: `TOKEN#${hash}`, SK: 'TOKEN' },
            UpdateExpression: 'REMOVE resetGeneration',
            ConditionExpression: 'resetGeneration = :zero',
            ExpressionAttributeValues: { ':zero': 0 },
          }),
        );
        return token;
      };
      const beforeChange = await asOlderBuild(await requestReset(t, user.email));
      await t.api
        .post('/api/v1/auth/password')
        .set('authorization', user.bearer)
        .send({ currentPassword: user.password, newPassword: 'changed-pass-1' })
        .expect(204);
      // What such a link was issued under: a change killed it. They expire within the link TTL.
      await confirmReset(t, beforeChange, 'after-reset-1').expect(400);
      const afterChange = await asOlderBuild(await requestReset(t, user.email));
      await confirmReset(t, afterChange, 'after-reset-2').expect(204);
      await login(t, user.email, 'after-reset-2').expect(200);
    });

    it('dies when the email is changed', async () => {
      const user = await signUp(t);
      const link = await requestReset(t, user.email);
      await moveEmail(t, user, `moved-${user.email}`);
      await confirmReset(t, link, 'after-reset-1').expect(400);
      await login(t, `moved-${user.email}`, user.password).expect(200);
    });

    it('is single use under two parallel confirms: one 204, one 400', async () => {
      const user = await signUp(t);
      const link = await requestReset(t, user.email);
      const results = await Promise.all([
        confirmReset(t, link, 'after-reset-1'),
        confirmReset(t, link, 'after-reset-2'),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([204, 400]);
    });

    it('lets only one of two different links of one generation win when confirmed in parallel', async () => {
      const user = await signUp(t);
      const a = await requestReset(t, user.email);
      const b = await requestReset(t, user.email);
      const results = await Promise.all([confirmReset(t, a, 'after-reset-1'), confirmReset(t, b, 'after-reset-2')]);
      expect(results.map((r) => r.status).sort()).toEqual([204, 400]);
    });
  });

  describe('sessions end with the write that ends them, whatever fails after it', () => {
    /**
     * Every batch delete (how session items are deleted) fails while `task` runs, as when a
     * sign-in's transaction holds them (TransactionConflict) or the process dies after the user item's write.
     */
    const withSessionDeletesFailing = async <T>(task: () => Promise<T>): Promise<T> => {
      const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command) => {
        if (command === 'BatchWriteItemCommand') {
          throw Object.assign(new Error('held by a transaction'), { name: 'TransactionConflictException' });
        }
      });
      try {
        return await task();
      } finally {
        remove();
      }
    };
    const refresh = (token: string) => t.api.post('/api/v1/auth/refresh').send({ refreshToken: token });
    /** Both of the session's tokens are refused with the documented codes. */
    const expectEnded = async (session: { accessToken: string; refreshToken: string }) => {
      expect((await me(t, `Bearer ${session.accessToken}`).expect(401)).body.code).toBe('session_revoked');
      expect((await refresh(session.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
    };
    const signIn = async (email: string, password: string) =>
      (await login(t, email, password).expect(200)).body as { accessToken: string; refreshToken: string };
    const listedSessions = async (bearer: string) =>
      (
        (await t.api.get('/api/v1/auth/sessions').set('authorization', bearer).expect(200)).body.items as {
          id: string;
        }[]
      ).length;

    it('a password reset ends every session though no session item could be deleted', async () => {
      const victim = await signUp(t);
      const attacker = await signIn(victim.email, victim.password);
      const link = await requestReset(t, victim.email);
      await withSessionDeletesFailing(() => confirmReset(t, link, 'after-reset-1').expect(204));
      await expectEnded(victim);
      await expectEnded(attacker);
      const after = await signIn(victim.email, 'after-reset-1');
      await me(t, `Bearer ${after.accessToken}`).expect(200);
      // The items are still there, but the owner's list shows only the session signed in since.
      expect(await listedSessions(`Bearer ${after.accessToken}`)).toBe(1);
    });

    it('a password change keeps only the caller’s session', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      await withSessionDeletesFailing(() =>
        t.api
          .post('/api/v1/auth/password')
          .set('authorization', user.bearer)
          .send({ currentPassword: user.password, newPassword: 'changed-pass-1' })
          .expect(204),
      );
      await expectEnded(other);
      await me(t, user.bearer).expect(200);
      const rotated = (await refresh(user.refreshToken).expect(200)).body as { accessToken: string };
      expect(await listedSessions(`Bearer ${rotated.accessToken}`)).toBe(1);
    });

    it('sign-out everywhere ends every session, the caller’s too', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      await withSessionDeletesFailing(() =>
        t.api.post('/api/v1/auth/logout-all').set('authorization', user.bearer).expect(204),
      );
      await expectEnded(user);
      await expectEnded(other);
    });

    it('a suspension ends every session for good: none comes back with the reactivation', async () => {
      const user = await signUp(t);
      // What PATCH /users/{id}/status runs (this app has no admin).
      const users = t.app.get(UsersService);
      await withSessionDeletesFailing(() => users.setStatus(user.userId, 'suspended'));
      await users.setStatus(user.userId, 'active');
      await expectEnded(user);
      await signIn(user.email, user.password);
    });

    it('a deactivation ends every session for good: none comes back with the reactivation (review 16a L6)', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      const users = t.app.get(UsersService);
      await withSessionDeletesFailing(() => users.deactivate(user.userId, 'owner'));
      await users.setStatus(user.userId, 'active');
      await expectEnded(user);
      await expectEnded(other);
      await signIn(user.email, user.password);
    });

    it('a hard erase ends every session in its first step: a later step that fails leaves none working (review 16a L2)', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      // The anonymising walk's first read of the user's content fails (every Query naming the user).
      const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command, input) => {
        if (command === 'QueryCommand' && JSON.stringify(input).includes(user.userId)) {
          throw Object.assign(new Error('the walk fails'), { name: 'InternalServerError' });
        }
      });
      const erasure = t.app.get(UserErasureWorkflow);
      try {
        await expect(erasure.erase(user.userId)).rejects.toThrow('the walk fails');
      } finally {
        remove();
      }
      await expectEnded(user);
      await expectEnded(other);
      // Review 17a L1: its owner may sign in again, to retry the erase and for nothing else.
      const retry = (await login(t, user.email, user.password).expect(200)).body as { accessToken: string };
      expect((await me(t, `Bearer ${retry.accessToken}`).expect(403)).body.code).toBe('account_suspended');
      // Run again, the erase finishes (a suspended account is not written again): the account is gone.
      await erasure.erase(user.userId);
      expect((await login(t, user.email, user.password).expect(401)).body.code).toBe('invalid_credentials');
    });

    it('sign-out everywhere is a change of the user: a write on the version read before it fails (review 16a L1)', async () => {
      const user = await signUp(t);
      const users = t.app.get(UsersService);
      const before = await users.setStatus(user.userId, 'active');
      await t.api.post('/api/v1/auth/logout-all').set('authorization', user.bearer).expect(204);
      await expect(users.setStatus(user.userId, 'suspended', before.version)).rejects.toMatchObject({
        code: 'version_mismatch',
      });
    });
    it('sessions:sweep-ended deletes the items of ended sessions a failed clean-up left, and no live one (review 16a L3)', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      await withSessionDeletesFailing(() =>
        t.api
          .post('/api/v1/auth/password')
          .set('authorization', user.bearer)
          .send({ currentPassword: user.password, newPassword: 'changed-pass-2' })
          .expect(204),
      );
      const later = await signIn(user.email, 'changed-pass-2');
      const quitter = await signUp(t);
      await withSessionDeletesFailing(() =>
        t.api.post('/api/v1/auth/logout-all').set('authorization', quitter.bearer).expect(204),
      );
      /** The session ids left in a user's partition (the ended ones are refused, not deleted yet). */
      const sessionIds = async (userId: string) =>
        (await t.allItems())
          .filter((item) => item.PK === `USER#${userId}` && String(item.SK).startsWith('SESSION#'))
          .map((item) => String(item.SK).slice('SESSION#'.length))
          .sort();
      const sidOf = (session: { accessToken: string }) => String(decodeJwt(session.accessToken).sid);
      expect(await sessionIds(user.userId)).toEqual([sidOf(user), sidOf(other), sidOf(later)].sort());
      expect(await sessionIds(quitter.userId)).toEqual([sidOf(quitter)]);

      const quiet = { write: () => true };
      const counted = await sweepEndedSessions(t.db, t.tableName, { dryRun: true, progress: quiet });
      // Other tests of this file left ended sessions too: at least these two, and nothing deleted.
      expect(counted.endedSessions).toBeGreaterThanOrEqual(2);
      expect(counted.deletedItems).toBe(0);
      expect(await sessionIds(quitter.userId)).toEqual([sidOf(quitter)]);

      const swept = await sweepEndedSessions(t.db, t.tableName, { progress: quiet });
      expect(swept.deletedItems).toBe(counted.endedSessions);
      // The changer's kept session and the one signed in since stay, and work.
      expect(await sessionIds(user.userId)).toEqual([sidOf(user), sidOf(later)].sort());
      expect(await sessionIds(quitter.userId)).toEqual([]);
      await me(t, user.bearer).expect(200);
      await me(t, `Bearer ${later.accessToken}`).expect(200);
      await expectEnded(other);
      // Nothing ended is left: a second run finds nothing.
      expect((await sweepEndedSessions(t.db, t.tableName, { progress: quiet })).endedSessions).toBe(0);
    });
  });

  describe('a password change in flight never revives a session that ended meanwhile (review 16a H1)', () => {
    const refresh = (token: string) => t.api.post('/api/v1/auth/refresh').send({ refreshToken: token });
    const signIn = async (email: string, password: string) =>
      (await login(t, email, password).expect(200)).body as { accessToken: string; refreshToken: string };

    /**
     * Starts a change of the password from `bearer` and holds it after its read and its check of
     * the current password, at the hash of the new one, until `meanwhile` has run: the change's
     * write then meets what `meanwhile` wrote.
     */
    const changeAround = async (bearer: string, current: string, meanwhile: () => Promise<unknown>) => {
      const hasher = t.app.get(PasswordHasher);
      const hash = hasher.hash.bind(hasher);
      let reached!: () => void;
      const atHash = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const spy = jest.spyOn(hasher, 'hash').mockImplementationOnce(async (password) => {
        reached();
        await held;
        return hash(password);
      });
      try {
        const change = t.api
          .post('/api/v1/auth/password')
          .set('authorization', bearer)
          .send({ currentPassword: current, newPassword: 'changed-pass-1' })
          .then((res) => res);
        await atHash;
        await meanwhile();
        release();
        return await change;
      } finally {
        spy.mockRestore();
      }
    };

    it('a reset that completes while the attacker’s change is hashing: 401, the reset’s password stays', async () => {
      const victim = await signUp(t);
      const attacker = await signIn(victim.email, victim.password);
      const link = await requestReset(t, victim.email);
      let afterReset!: { accessToken: string };
      const change = await changeAround(`Bearer ${attacker.accessToken}`, victim.password, async () => {
        await confirmReset(t, link, 'after-reset-1').expect(204);
        afterReset = await signIn(victim.email, 'after-reset-1');
      });
      expect([change.status, change.body.code]).toEqual([401, 'session_revoked']);
      expect((await me(t, `Bearer ${attacker.accessToken}`).expect(401)).body.code).toBe('session_revoked');
      await refresh(attacker.refreshToken).expect(401);
      await login(t, victim.email, 'changed-pass-1').expect(401);
      // The victim's session since the reset lives on.
      await me(t, `Bearer ${afterReset.accessToken}`).expect(200);
    });

    it('a sign-out everywhere while the change is hashing: 401, the caller’s session stays ended', async () => {
      const user = await signUp(t);
      const other = await signIn(user.email, user.password);
      const change = await changeAround(user.bearer, user.password, () =>
        t.api.post('/api/v1/auth/logout-all').set('authorization', `Bearer ${other.accessToken}`).expect(204),
      );
      expect([change.status, change.body.code]).toEqual([401, 'session_revoked']);
      expect((await me(t, user.bearer).expect(401)).body.code).toBe('session_revoked');
      await refresh(user.refreshToken).expect(401);
      await login(t, user.email, user.password).expect(200);
    });

    it('a suspension while the change is hashing: nothing comes back with the reactivation', async () => {
      const user = await signUp(t);
      const users = t.app.get(UsersService);
      const change = await changeAround(user.bearer, user.password, () => users.setStatus(user.userId, 'suspended'));
      expect([change.status, change.body.code]).toEqual([401, 'session_revoked']);
      await users.setStatus(user.userId, 'active');
      expect((await me(t, user.bearer).expect(401)).body.code).toBe('session_revoked');
      await refresh(user.refreshToken).expect(401);
      await login(t, user.email, user.password).expect(200);
    });

    it('two changes from one session at once: one 204, the other 403 wrong_password, never 500', async () => {
      const user = await signUp(t);
      const change = await changeAround(user.bearer, user.password, () =>
        t.api
          .post('/api/v1/auth/password')
          .set('authorization', user.bearer)
          .send({ currentPassword: user.password, newPassword: 'after-reset-2' })
          .expect(204),
      );
      expect([change.status, change.body.code]).toEqual([403, 'wrong_password']);
      await me(t, user.bearer).expect(200);
      await login(t, user.email, 'after-reset-2').expect(200);
    });
  });

  describe('a sign-in during the erasure of its account', () => {
    /**
     * The account is erased while its sign-in checks the password (after the sign-in read it,
     * before it writes); with `cascaded`, the stream processor has also removed the partition's
     * remains by then, else it is still to run (or running: its Query may be behind the write).
     */
    const eraseDuringPasswordCheck = (userId: string, cascaded: boolean) => {
      const hasher = t.app.get(PasswordHasher);
      const verify = hasher.verify.bind(hasher);
      return jest.spyOn(hasher, 'verify').mockImplementationOnce(async (password, hash) => {
        await t.app.get(UserErasureWorkflow).erase(userId);
        if (cascaded) await processStream(t);
        return verify(password, hash);
      });
    };

    it.each([
      ['its first sign-in (no sign-in item yet), remains removed', false, true],
      ['its first sign-in (no sign-in item yet), remains not yet removed', false, false],
      ['a later sign-in, remains removed', true, true],
      ['a later sign-in, remains not yet removed', true, false],
    ])('is refused and writes nothing into the erased partition: %s', async (_case, signedInBefore, cascaded) => {
      const user = await signUp(t);
      if (signedInBefore) await login(t, user.email, user.password).expect(200);
      const spy = eraseDuringPasswordCheck(user.userId, cascaded);
      const res = await login(t, user.email, user.password).expect(401);
      spy.mockRestore();
      expect(res.body.code).toBe('invalid_credentials');
      await processStream(t);
      const left = (await t.allItems()).filter((item) => JSON.stringify(item).includes(user.userId));
      expect(left.map((item) => item.SK)).toEqual([]);
    });
  });

  describe('strict access tokens', () => {
    const forge = (user: SignedIn, drop: string) => {
      const claims: Record<string, unknown> = { ...decodeJwt(user.accessToken) };
      delete claims[drop];
      return craftJwt(claims, { secret: t.config.auth.jwtSecret });
    };

    it.each(['exp', 'iat', 'sub', 'sid'])('refuses a correctly signed token without `%s`', async (claim) => {
      const user = await signUp(t);
      await me(t, user.bearer).expect(200);
      const res = await me(t, `Bearer ${forge(user, claim)}`).expect(401);
      expect(res.body.code).toBe('invalid_token');
    });
  });

  describe('cursors', () => {
    let admin: SignedIn;
    let a: TestApp;
    beforeAll(async () => {
      a = await createTestApp(ADMIN_ENV);
      admin = await signInAdmin(a);
      for (let i = 0; i < 3; i++) await signUp(a);
    });
    afterAll(async () => {
      await a.close();
    });
    const users = (query: string) => a.api.get(`/api/v1/users?${query}`).set('authorization', admin.bearer);

    it('reveal no table key', async () => {
      const page = (await users('limit=1').expect(200)).body as { items: { id: string }[]; nextCursor: string };
      const decoded = Buffer.from(page.nextCursor.split('.')[0], 'base64url').toString('latin1');
      expect(decoded).not.toContain('USER#');
      expect(decoded).not.toContain(page.items[0].id);
      await users(`limit=1&cursor=${page.nextCursor}`).expect(200);
    });

    it('refuse a cursor with a changed byte with 400 invalid_cursor', async () => {
      const { nextCursor } = (await users('limit=1').expect(200)).body as { nextCursor: string };
      for (const at of [0, Math.floor(nextCursor.length / 2), nextCursor.length - 2]) {
        const changed = nextCursor.slice(0, at) + (nextCursor[at] === 'A' ? 'B' : 'A') + nextCursor.slice(at + 1);
        expect((await users(`limit=1&cursor=${changed}`).expect(400)).body.code).toBe('invalid_cursor');
      }
    });

    it('refuse a cursor moved to another listing with 400 invalid_cursor', async () => {
      const { nextCursor } = (await users('limit=1').expect(200)).body as { nextCursor: string };
      const moved = await users(`limit=1&role=user&cursor=${nextCursor}`).expect(400);
      expect(moved.body.code).toBe('invalid_cursor');
    });
  });

  describe('no account enumeration', () => {
    const compare = async (path: string, known: Record<string, string>, unknown: Record<string, string>) => {
      const a = await t.api.post(path).send(known);
      const b = await t.api.post(path).send(unknown);
      expect(a.status).toBe(b.status);
      // Only the request id (which names the request) may differ.
      const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
      expect(strip(a.body as Record<string, unknown>)).toEqual(strip(b.body as Record<string, unknown>));
      expect(dynamoCost(a).calls).toBe(dynamoCost(b).calls);
      return a;
    };

    it('login answers a known email with a wrong password like an unknown email, with the same calls', async () => {
      const user = await signUp(t);
      const res = await compare(
        '/api/v1/auth/login',
        { email: user.email, password: 'wrong-password-1' },
        { email: 'nobody-at-all@example.com', password: 'wrong-password-1' },
      );
      expect(res.status).toBe(401);
    });

    it('the reset request answers and costs the same for known and unknown emails', async () => {
      const user = await signUp(t);
      const res = await compare(
        '/api/v1/auth/password-reset/request',
        { email: user.email },
        { email: 'nobody-else@example.com' },
      );
      expect(res.status).toBe(202);
      await t.mailSent();
      expect(resetTokens(t, user.email)).toHaveLength(1);
    });

    it('the verification request answers and costs the same for known and unknown emails', async () => {
      const user = await signUp(t);
      const res = await compare(
        '/api/v1/auth/verify-email/request',
        { email: user.email },
        { email: 'nobody-either@example.com' },
      );
      expect(res.status).toBe(202);
    });
  });

  describe('stale unverified accounts', () => {
    const ageAccount = (userId: string, hours: number) =>
      t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${userId}`, SK: 'USER' },
          UpdateExpression: 'SET createdAt = :old',
          ExpressionAttributeValues: { ':old': new Date(Date.now() - hours * 3600 * 1000).toISOString() },
        }),
      );

    it('are replaced by a new registration of their email after PENDING_ACCOUNT_TTL_HOURS', async () => {
      const squatter = await signUp(t, { username: `squat${Date.now().toString(36)}` });
      const username = (await me(t, squatter.bearer).expect(200)).body.username as string;
      await ageAccount(squatter.userId, 73);

      const res = await t.api
        .post('/api/v1/auth/register')
        .send({ email: squatter.email, password: 'password-1234', username })
        .expect(201);
      expect(res.body.user.id).not.toBe(squatter.userId);
      expect((await me(t, squatter.bearer).expect(401)).body.code).toBe('session_revoked');
      await t.api.post('/api/v1/auth/refresh').send({ refreshToken: squatter.refreshToken }).expect(401);
      expect(await t.getItem(`USER#${squatter.userId}`, 'USER')).toBeUndefined();
    });

    it('keep their email while younger than PENDING_ACCOUNT_TTL_HOURS', async () => {
      const young = await signUp(t);
      await ageAccount(young.userId, 71);
      const res = await t.api.post('/api/v1/auth/register').send({ email: young.email, password: 'password-1234' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('email_taken');
    });

    it('deactivated by their owner, with a draft: replaced by a new registration after PENDING_ACCOUNT_TTL_HOURS, content credited to deleted-user (review 22a M2)', async () => {
      const squatter = await signUp(t);
      const draft = await t.api
        .post('/api/v1/posts')
        .set('authorization', squatter.bearer)
        .send({ title: 'Held', content: 'A draft' })
        .expect(201);
      await t.api
        .delete('/api/v1/users/me')
        .set('authorization', squatter.bearer)
        .send({ password: squatter.password })
        .expect(204);
      await ageAccount(squatter.userId, 71);
      const early = await t.api
        .post('/api/v1/auth/register')
        .send({ email: squatter.email, password: 'password-1234' });
      expect(early.body.code).toBe('email_taken');

      await ageAccount(squatter.userId, 73);
      const res = await t.api
        .post('/api/v1/auth/register')
        .send({ email: squatter.email, password: 'password-1234' })
        .expect(201);
      expect(res.body.user.id).not.toBe(squatter.userId);
      expect(await t.getItem(`USER#${squatter.userId}`, 'USER')).toBeUndefined();
      expect(await t.getItem(`POST#${draft.body.id as string}`, 'POST')).toMatchObject({ authorId: 'deleted-user' });
    });

    it('deactivated by their owner: no reset mail, a link mailed before sets the password but does not reopen it, so still replaced (reviews 22a M1 and M2, 23 L-3)', async () => {
      const owner = await signUp(t);
      // A link mailed while the account was pending (the address may be anyone's: a typo, a stranger's).
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: owner.email }).expect(202);
      await t.mailSent();
      const early = t.mailer.tokenFor(owner.email, 'password_reset');
      expect(early).toBeDefined();
      await t.api
        .delete('/api/v1/users/me')
        .set('authorization', owner.bearer)
        .send({ password: owner.password })
        .expect(204);
      await ageAccount(owner.userId, 73);
      await t.mailSent();
      const mailed = t.mailer.outbox.length;
      await t.api.post('/api/v1/auth/password-reset/request').send({ email: owner.email }).expect(202);
      await t.mailSent();
      expect(t.mailer.outbox.slice(mailed).filter((m) => m.to === owner.email)).toEqual([]);

      await t.api
        .post('/api/v1/auth/password-reset/confirm')
        .send({ token: early, newPassword: 'mine-again-1234' })
        .expect(204);
      expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({
        status: 'inactive',
        deactivatedBy: 'owner',
        emailVerified: false,
      });
      const signIn = await t.api.post('/api/v1/auth/login').send({ email: owner.email, password: 'mine-again-1234' });
      expect(`${signIn.status} ${signIn.body.code}`).toBe('403 account_inactive');
      const res = await t.api
        .post('/api/v1/auth/register')
        .send({ email: owner.email, password: 'password-1234' })
        .expect(201);
      expect(res.body.user.id).not.toBe(owner.userId);
      expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toBeUndefined();
    });

    it('reserved usernames and their look-alikes cannot be registered: 409 username_taken (review 22a L6, session 23)', async () => {
      for (const username of ['deleted-user', 'admin1', 'support-team']) {
        const res = await t.api.post('/api/v1/auth/register').send({
          email: `reserved${Date.now().toString(36)}@example.com`,
          password: 'password-1234',
          username,
        });
        expect(`${res.status} ${res.body.code}`).toBe('409 username_taken');
      }
    });

    it('are never replaced when they are staff (a pending moderator)', async () => {
      const moderator = await signUp(t);
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${moderator.userId}`, SK: 'USER' },
          UpdateExpression: 'SET #role = :moderator',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':moderator': 'moderator' },
        }),
      );
      await ageAccount(moderator.userId, 100);
      const res = await t.api.post('/api/v1/auth/register').send({ email: moderator.email, password: 'password-1234' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('email_taken');
      await me(t, moderator.bearer).expect(200);
    });

    it('are never replaced once they have published anything', async () => {
      const author = await signUp(t);
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Mine', content: 'A post' })
        .expect(201);
      await ageAccount(author.userId, 100);
      const res = await t.api.post('/api/v1/auth/register').send({ email: author.email, password: 'password-1234' });
      expect(res.status).toBe(409);
      await me(t, author.bearer).expect(200);
    });
  });

  it('the logging mail transport never writes a link or its token to the log', async () => {
    // NODE_ENV=test configures the `log` transport: the one that writes to the log.
    const d = await createTestApp({}, { mail: 'configured' });
    try {
      const user = await signUp(d);
      await d.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
      await d.mailSent();
      expect(logs.lines.some((line) => line.includes(user.email))).toBe(true);
      expect(logs.leaks()).toEqual([]);
    } finally {
      await d.close();
    }
  });
});
