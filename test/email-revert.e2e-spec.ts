import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addCallHook } from '../src/dynamo/dynamo-client.factory.js';
import { DYNAMODB_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { ActionLinksService } from '../src/identity/action-links/action-links.service.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { UsersRepository } from '../src/users/users.repository.js';
import { UsersService } from '../src/users/users.service.js';
import { streamRecords } from './helpers/stream.js';
import {
  confirmEmailChange,
  createTestApp,
  moveEmail,
  requestEmailChange,
  signUp,
  verifyEmail,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

/**
 * The "it wasn't me" link of the `email_changed` notice (review 16a M1): src/users/email-reverts.ts.
 * Real app, DynamoDB Local, the in-memory outbox the stream processor mails to.
 */
const login = (t: TestApp, email: string, password: string) =>
  t.api.post('/api/v1/auth/login').send({ email, password });
const revert = (t: TestApp, token: string | undefined) =>
  t.api.post('/api/v1/auth/email-change/revert').send({ token });
const me = (t: TestApp, bearer: string) => t.api.get('/api/v1/users/me').set('authorization', bearer);

/** A registered account whose address is verified: only such an address is reserved for an undo link. */
async function verified(t: TestApp): Promise<SignedIn> {
  const user = await signUp(t);
  await verifyEmail(t, user);
  return user;
}

let moves = 0;
const fresh = (label: string) => `${label}-${++moves}-${Date.now().toString(36)}@example.com`;

/** Moves the account to `email` (confirming it) and returns the undo link's token from the notice to the address it left. */
async function changeEmail(t: TestApp, user: SignedIn, from: string, email: string): Promise<string> {
  await moveEmail(t, user, email);
  await t.mailSent();
  const token = t.mailer.tokenFor(from, 'email_changed');
  expect(token).toBeDefined();
  return token!;
}

/**
 * Replays, late, the records of `userId`'s item as a dead letter's replay would, the `email_changed`
 * notice's marker deleted first (as if its first attempt had failed and given it back): what that
 * late notice sends.
 */
async function replayEmailChangedNotice(t: TestApp, userId: string): Promise<void> {
  const markers = (await t.queryPartition(`USER#${userId}`)).filter((i) =>
    String(i.SK).startsWith('NOTICE#email_changed#'),
  );
  expect(markers).toHaveLength(1);
  await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: { PK: markers[0].PK, SK: markers[0].SK } }));
  const mine = (await streamRecords(t)).filter((r) => r.dynamodb?.Keys?.PK?.S === `USER#${userId}`);
  await t.app.get(StreamProcessor).handleBatch(mine);
}

const revertTokensOf = async (t: TestApp, userId: string) =>
  (await t.allItems()).filter((i) => i.kind === 'email_change_revert' && i.userId === userId);

describe('undoing an email change from the old address (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PUBLIC_URL: 'https://app.example.test', EMAIL_CHANGE_REVERT_TTL_HOURS: '48' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('restores the old address, verified; ends every session; the password is refused; a reset goes to the old address', async () => {
    const owner = await verified(t);
    const other = await login(t, owner.email, owner.password).expect(200);
    const stolen = fresh('thief');
    const token = await changeEmail(t, owner, owner.email, stolen);
    const notice = t.mailer.last(owner.email, 'email_changed')!;
    expect(notice.link).toMatch(/^https:\/\/app\.example\.test\/revert-email-change\?token=[A-Za-z0-9_-]{43}$/);
    expect(notice.text).toContain(stolen);
    expect(notice.text).toContain(notice.link);

    await revert(t, token).expect(204);

    const user = await t.getItem(`USER#${owner.userId}`, 'USER');
    expect(user).toMatchObject({ email: owner.email, emailVerified: true, emailReverts: [] });
    expect((await t.getItem(`UNIQUE#EMAIL#${owner.email}`, 'UNIQUE'))?.userId).toBe(owner.userId);
    expect(await t.getItem(`UNIQUE#EMAIL#${stolen}`, 'UNIQUE')).toBeUndefined();
    for (const bearer of [owner.bearer, `Bearer ${(other.body as { accessToken: string }).accessToken}`]) {
      expect((await me(t, bearer).expect(401)).body.code).toBe('session_revoked');
    }
    await t.api.post('/api/v1/auth/refresh').send({ refreshToken: owner.refreshToken }).expect(401);
    expect((await login(t, owner.email, owner.password).expect(401)).body.code).toBe('invalid_credentials');
    await login(t, stolen, owner.password).expect(401);

    // The revert sends no email_changed notice (with a link) to the address it took the account from.
    await t.mailSent();
    expect(t.mailer.outbox.filter((m) => m.to === stolen && m.kind === 'email_changed')).toEqual([]);
    // It tells that address the account moved back (review 20b L5): once, no link, no address named.
    const movedBack = t.mailer.outbox.filter((m) => m.to === stolen && m.kind === 'email_moved_back');
    expect(movedBack).toHaveLength(1);
    expect(movedBack[0].link).toBeUndefined();
    expect(movedBack[0].html).not.toContain('href');
    expect(`${movedBack[0].text}${movedBack[0].html}`).not.toContain(owner.email);
    // The restored address is told the change was undone (once, naming no other address), not "password changed".
    const undone = t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'email_change_undone');
    expect(undone).toHaveLength(1);
    expect(undone[0].text).toContain('the password was disabled');
    expect(undone[0].text).toContain('https://app.example.test/forgot-password');
    expect(`${undone[0].text}${undone[0].html}`).not.toContain(stolen);
    expect(t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'password_changed')).toEqual([]);

    await t.api.post('/api/v1/auth/password-reset/request').send({ email: owner.email }).expect(202);
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: stolen }).expect(202);
    await t.mailSent();
    expect(t.mailer.outbox.filter((m) => m.to === stolen && m.kind === 'password_reset')).toEqual([]);
    await t.api
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: t.mailer.tokenFor(owner.email, 'password_reset'), newPassword: 'mine-again-1' })
      .expect(204);
    await login(t, owner.email, 'mine-again-1').expect(200);

    // Single use.
    expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
  });

  it("a replay of the change's record mints no second link and sends no second notice", async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('moved'));
    const revertTokens = async () =>
      (await t.allItems()).filter((i) => i.kind === 'email_change_revert' && i.userId === owner.userId);
    expect(await revertTokens()).toHaveLength(1);
    const mine = (await streamRecords(t)).filter((r) => r.dynamodb?.Keys?.PK?.S === `USER#${owner.userId}`);
    await t.app.get(StreamProcessor).handleBatch(mine);
    expect(await revertTokens()).toHaveLength(1);
    expect(t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'email_changed')).toHaveLength(1);
    await revert(t, token).expect(204);
  });

  it('a notice whose mail fails once is retried by the stream with the same link, which works (review 18b L4)', async () => {
    const owner = await verified(t);
    const stolen = fresh('thief');
    const send = t.mailer.send.bind(t.mailer);
    let failures = 1;
    const outage = jest
      .spyOn(t.mailer, 'send')
      .mockImplementation((mail) =>
        mail.kind === 'email_changed' && failures-- > 0 ? Promise.reject(new Error('mail server down')) : send(mail),
      );
    try {
      await confirmEmailChange(t, await requestEmailChange(t, owner, stolen)).expect(204);
      await expect(t.mailSent()).rejects.toThrow(/keeps failing/);
      expect(t.mailer.last(owner.email, 'email_changed')).toBeUndefined();
      t.clock.advance(60_000); // past the shard's backoff
      await t.mailSent();
    } finally {
      outage.mockRestore();
      t.clock.reset();
    }
    const token = t.mailer.tokenFor(owner.email, 'email_changed');
    expect(token).toBeDefined();
    expect(t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'email_changed')).toHaveLength(1);
    const revertTokens = (await t.allItems()).filter(
      (i) => i.kind === 'email_change_revert' && i.userId === owner.userId,
    );
    expect(revertTokens).toHaveLength(1);
    await revert(t, token).expect(204);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(owner.email);
  });

  it('a late notice whose change was undone since mints no link and is not sent (session 20)', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    await revert(t, token).expect(204);
    await t.mailSent();
    expect(await revertTokensOf(t, owner.userId)).toEqual([]); // used up by the revert
    await replayEmailChangedNotice(t, owner.userId);
    // The mint's check of the reservation failed: no token put back, no second notice with a dead link.
    expect(await revertTokensOf(t, owner.userId)).toEqual([]);
    expect(t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'email_changed')).toHaveLength(1);
  });

  it('a late notice whose link has expired says so and carries no link (session 20)', async () => {
    const owner = await verified(t);
    const stolen = fresh('thief');
    await changeEmail(t, owner, owner.email, stolen);
    try {
      t.clock.advance(49 * 3600 * 1000); // past EMAIL_CHANGE_REVERT_TTL_HOURS (48)
      await replayEmailChangedNotice(t, owner.userId);
    } finally {
      t.clock.reset();
    }
    const notices = t.mailer.outbox.filter((m) => m.to === owner.email && m.kind === 'email_changed');
    expect(notices).toHaveLength(2);
    expect(notices[1].link).toBeUndefined();
    expect(notices[1].text).toContain('has expired');
    expect(notices[1].text).toContain(stolen);
  });

  it("an undo link's mint after the account's erasure puts no token (naming the erased address) back (session 20)", async () => {
    const owner = await verified(t);
    await changeEmail(t, owner, owner.email, fresh('thief'));
    const [minted] = await revertTokensOf(t, owner.userId);
    const revertOfChange = {
      userId: owner.userId,
      email: owner.email,
      emailGeneration: Number(minted.emailGeneration),
      expiresAt: String(minted.expiresAt),
    };
    await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', owner.bearer)
      .send({ password: owner.password })
      .expect(204);
    await t.mailSent();
    expect(await revertTokensOf(t, owner.userId)).toEqual([]);
    // A notice's mint that read the account just before the erase, and writes just after it.
    const users = t.app.get(UsersRepository);
    const link = await t.app
      .get(ActionLinksService)
      .mintRevertLink(revertOfChange, (onGone) => users.pendingRevertCheck(revertOfChange, t.clock.now(), onGone));
    expect(link).toBeUndefined();
    expect(await revertTokensOf(t, owner.userId)).toEqual([]);
  });

  it('an erasure whose write meets a held address that lapsed and was claimed since its read reads again and erases (412 retry)', async () => {
    const owner = await verified(t);
    const [a, b] = [owner.email, fresh('b')];
    await changeEmail(t, owner, a, b);
    const users = t.app.get(UsersRepository);
    const read = users.findById.bind(users);
    const lapse = 49 * 3600 * 1000; // past EMAIL_CHANGE_REVERT_TTL_HOURS (48)
    let newcomer: SignedIn | undefined;
    let armed = false;
    // The erase's write is composed while A's reservation is live (A's Delete conditioned on it)
    // and reaches the table once it has lapsed and someone registered A.
    const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command) => {
      if (armed && command === 'TransactWriteItemsCommand') {
        armed = false;
        t.clock.advance(lapse);
      }
    });
    const race = jest.spyOn(users, 'findById').mockImplementationOnce(async (id) => {
      const user = await read(id);
      const readAt = t.clock.now();
      t.clock.advance(lapse);
      newcomer = await signUp(t, { email: a });
      t.clock.set(readAt);
      armed = true;
      return user;
    });
    try {
      await expect(t.app.get(UsersService).eraseAccount(owner.userId)).resolves.toBe(true);
      expect(race.mock.calls.filter(([id]) => id === owner.userId)).toHaveLength(2); // read again after the 412
    } finally {
      remove();
      race.mockRestore();
      t.clock.reset();
    }
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toBeUndefined();
    expect(await t.getItem(`UNIQUE#EMAIL#${b}`, 'UNIQUE')).toBeUndefined();
    // The newcomer's claim of A stands: the erasure's retry no longer deletes a reservation there.
    expect((await t.getItem(`UNIQUE#EMAIL#${a}`, 'UNIQUE'))?.userId).toBe(newcomer!.userId);
  });

  it('a revert while the account keeps changing under it: 503 transaction_conflict after 5 writes, and the link still works', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    const users = t.app.get(UsersRepository);
    const read = users.findById.bind(users);
    let reads = 0;
    // Another writer changes the account after each of the revert's reads: each write is a 412.
    const busy = jest.spyOn(users, 'findById').mockImplementation(async (id) => {
      const user = await read(id);
      reads++;
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: `USER#${owner.userId}`, SK: 'USER' },
          UpdateExpression: 'ADD version :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
      return user;
    });
    let answer;
    try {
      answer = await revert(t, token);
    } finally {
      busy.mockRestore();
    }
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ code: 'transaction_conflict' });
    expect(answer.headers['retry-after']).toBe('1');
    expect(reads).toBe(5);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).not.toBe(owner.email);
    await revert(t, token).expect(204);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(owner.email);
  });

  it('keeps the old address reserved: nobody registers it, moves to it or signs in with it', async () => {
    const owner = await verified(t);
    await changeEmail(t, owner, owner.email, fresh('thief'));
    const reservation = await t.getItem(`UNIQUE#EMAIL#${owner.email}`, 'UNIQUE');
    expect(reservation).toMatchObject({ reservedFor: owner.userId, reservationGeneration: 1 });
    expect(reservation).not.toHaveProperty('userId');
    expect(typeof reservation?.ttl).toBe('number');

    const register = await t.api.post('/api/v1/auth/register').send({ email: owner.email, password: 'squat-pass-1' });
    expect(register.status).toBe(409);
    expect(register.body.code).toBe('email_taken');
    const squatter = await signUp(t);
    const move = await t.api
      .post('/api/v1/users/me/email')
      .set('authorization', squatter.bearer)
      .send({ email: owner.email, password: squatter.password })
      .expect(409);
    expect(move.body.code).toBe('email_taken');
    // The reservation resolves to no account: a sign-in with the old address and the right password fails.
    expect((await login(t, owner.email, owner.password).expect(401)).body.code).toBe('invalid_credentials');
  });

  it('an address the account never verified is released by a change: no reservation, no undo link (review 18b M1)', async () => {
    const outsider = await signUp(t);
    const victim = outsider.email;
    await moveEmail(t, outsider, fresh('evil'));
    await t.mailSent();
    expect(t.mailer.tokenFor(victim, 'email_changed')).toBeUndefined();
    expect(await t.getItem(`UNIQUE#EMAIL#${victim}`, 'UNIQUE')).toBeUndefined();
    expect(await t.getItem(`USER#${outsider.userId}`, 'USER')).toMatchObject({ emailReverts: [] });
    const owner = await signUp(t, { email: victim });
    expect((await t.getItem(`UNIQUE#EMAIL#${victim}`, 'UNIQUE'))?.userId).toBe(owner.userId);
  });

  it('an ADMIN_EMAIL reserved by a pending revert: the app starts without the admin and logs why (review 18b M2)', async () => {
    const owner = await verified(t);
    await changeEmail(t, owner, owner.email, fresh('moved'));
    // What the start-up logs: every Nest logger's error() is watched (and still logs), whichever
    // app's root logger it writes to.
    const errors = jest.spyOn(Logger.prototype, 'error');
    let logged: unknown[][] = [];
    const restarted = await createTestApp(
      { ADMIN_EMAIL: owner.email, ADMIN_PASSWORD: 'admin-password-123' },
      { tableName: t.tableName },
    ).finally(() => {
      logged = errors.mock.calls.filter(([message]) =>
        String(message).includes(`Could not create the admin ${owner.email}: the address is reserved until`),
      );
      errors.mockRestore();
    });
    try {
      expect(logged).toHaveLength(1);
      await restarted.api.get('/api/v1/users/me').set('authorization', owner.bearer).expect(200);
      expect((await login(restarted, owner.email, 'admin-password-123').expect(401)).body.code).toBe(
        'invalid_credentials',
      );
      expect((await t.getItem(`UNIQUE#EMAIL#${owner.email}`, 'UNIQUE'))?.reservedFor).toBe(owner.userId);
    } finally {
      await restarted.app.close();
    }
  });

  it("the admin bootstrap's takeover retires every pending revert: the undo link is refused, the account stays the admin's (review 22a H1)", async () => {
    const stranger = await verified(t);
    const adminEmail = fresh('boss');
    const token = await changeEmail(t, stranger, stranger.email, adminEmail);
    const adminPassword = 'admin-password-123';
    const outcome = await t.app
      .get(UsersService)
      .ensureAdmin(adminEmail, () => t.app.get(PasswordHasher).hash(adminPassword));
    expect(outcome).toBe('taken-over');
    expect(await t.getItem(`USER#${stranger.userId}`, 'USER')).toMatchObject({ emailReverts: [], role: 'admin' });
    // The address the stranger left is free again: its owner may register it.
    expect(await t.getItem(`UNIQUE#EMAIL#${stranger.email}`, 'UNIQUE')).toBeUndefined();

    expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
    expect(await t.getItem(`USER#${stranger.userId}`, 'USER')).toMatchObject({ email: adminEmail, role: 'admin' });
    const admin = await login(t, adminEmail, adminPassword).expect(200);
    expect((admin.body as { user: { id: string } }).user.id).toBe(stranger.userId);
    await login(t, stranger.email, stranger.password).expect(401);
    await signUp(t, { email: stranger.email });
  });

  it('`user:role ... admin` retires the pending reverts too and names their addresses for its warning (review 22a H1)', async () => {
    const owner = await verified(t);
    const moved = fresh('promoted');
    const token = await changeEmail(t, owner, owner.email, moved);
    const { user, retiredReverts } = await t.app.get(UsersService).setRoleByEmail(moved, 'admin');
    expect(user.role).toBe('admin');
    expect(retiredReverts).toEqual([owner.email]);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ emailReverts: [] });
    expect(await t.getItem(`UNIQUE#EMAIL#${owner.email}`, 'UNIQUE')).toBeUndefined();
    expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ email: moved, role: 'admin' });
    // Already an admin: nothing to retire, nothing to warn about.
    expect((await t.app.get(UsersService).setRoleByEmail(moved, 'admin')).retiredReverts).toEqual([]);
  });

  it("an email change is pending until the new address confirms it: the victim's address is never the attacker's, and the victim can register it (review 22a M3)", async () => {
    const attacker = await verified(t);
    const victim = fresh('victim');
    const confirmation = await requestEmailChange(t, attacker, victim);
    // Nothing moved: the account keeps its address for sign-in, and the victim's address is not held.
    const unchanged = await t.getItem(`USER#${attacker.userId}`, 'USER');
    expect(unchanged?.email).toBe(attacker.email);
    expect(unchanged?.emailReverts ?? []).toEqual([]);
    expect(await t.getItem(`UNIQUE#EMAIL#${victim}`, 'UNIQUE')).toBeUndefined();
    await login(t, attacker.email, attacker.password).expect(200);
    await login(t, victim, attacker.password).expect(401);
    expect(t.mailer.last(attacker.email, 'email_changed')).toBeUndefined();
    // The victim registers their own address; the attacker's link then cannot claim it.
    const owner = await signUp(t, { email: victim });
    expect((await confirmEmailChange(t, confirmation).expect(409)).body.code).toBe('email_taken');
    expect((await t.getItem(`UNIQUE#EMAIL#${victim}`, 'UNIQUE'))?.userId).toBe(owner.userId);
    expect((await t.getItem(`USER#${attacker.userId}`, 'USER'))?.email).toBe(attacker.email);
  });

  it("a password change kills a pending change's link; the link used moves the account, verified, once", async () => {
    const owner = await verified(t);
    const stale = await requestEmailChange(t, owner, fresh('first'));
    await t.api
      .post('/api/v1/auth/password')
      .set('authorization', owner.bearer)
      .send({ currentPassword: owner.password, newPassword: 'changed-pass-123' })
      .expect(204);
    expect((await confirmEmailChange(t, stale).expect(400)).body.code).toBe('invalid_or_expired_token');
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(owner.email);
    const next = fresh('second');
    const token = await requestEmailChange(t, { ...owner, password: 'changed-pass-123' }, next);
    await confirmEmailChange(t, token).expect(204);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ email: next, emailVerified: true });
    expect((await confirmEmailChange(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
  });

  it('A -> B -> C: the A -> B link restores A and releases C and B; the B -> C link dies', async () => {
    const owner = await verified(t);
    const [a, b, c] = [owner.email, fresh('b'), fresh('c')];
    const first = await changeEmail(t, owner, a, b);
    const second = await changeEmail(t, owner, b, c);
    await revert(t, first).expect(204);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ email: a, emailReverts: [] });
    expect((await t.getItem(`UNIQUE#EMAIL#${a}`, 'UNIQUE'))?.userId).toBe(owner.userId);
    expect(await t.getItem(`UNIQUE#EMAIL#${b}`, 'UNIQUE')).toBeUndefined();
    expect(await t.getItem(`UNIQUE#EMAIL#${c}`, 'UNIQUE')).toBeUndefined();
    expect((await revert(t, second).expect(400)).body.code).toBe('invalid_or_expired_token');
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(a);
  });

  it('A -> B -> A is refused while the A -> B link is pending; that link still restores A after the B -> C link was used (review 18b H1)', async () => {
    const owner = await verified(t);
    const [a, b, c] = [owner.email, fresh('b'), fresh('c')];
    const first = await changeEmail(t, owner, a, b);
    const back = await t.api
      .post('/api/v1/users/me/email')
      .set('authorization', owner.bearer)
      .send({ email: a, password: owner.password })
      .expect(409);
    expect(back.body.code).toBe('email_taken');
    expect(await t.getItem(`UNIQUE#EMAIL#${a}`, 'UNIQUE')).toMatchObject({ reservedFor: owner.userId });
    const second = await changeEmail(t, owner, b, c);
    await revert(t, second).expect(204);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(b);
    await revert(t, first).expect(204);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ email: a, emailReverts: [] });
    expect((await t.getItem(`UNIQUE#EMAIL#${a}`, 'UNIQUE'))?.userId).toBe(owner.userId);
    expect(await t.getItem(`UNIQUE#EMAIL#${b}`, 'UNIQUE')).toBeUndefined();
  });

  it('the revert ends every session in its own write, though no session item could be deleted after it', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    // Every batch delete (how session items are deleted) fails, as when a transaction holds them.
    const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command) => {
      if (command === 'BatchWriteItemCommand') {
        throw Object.assign(new Error('held by a transaction'), { name: 'TransactionConflictException' });
      }
    });
    try {
      await revert(t, token).expect(204);
    } finally {
      remove();
    }
    expect((await me(t, owner.bearer).expect(401)).body.code).toBe('session_revoked');
    expect(
      (await t.api.post('/api/v1/auth/refresh').send({ refreshToken: owner.refreshToken }).expect(401)).body.code,
    ).toBe('invalid_refresh_token');
  });

  it('a revert whose transaction fails (throttled) does not use the link up: it works afterwards (review 18b L1)', async () => {
    const owner = await verified(t);
    const stolen = fresh('thief');
    const token = await changeEmail(t, owner, owner.email, stolen);
    const remove = addCallHook(t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), (command) => {
      if (command === 'TransactWriteItemsCommand') {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      }
    });
    let failed;
    try {
      failed = await revert(t, token);
    } finally {
      remove();
    }
    expect(failed.status).toBe(503);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(stolen);
    await revert(t, token).expect(204);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.email).toBe(owner.email);
    // Used up by the revert's own transaction.
    const left = (await t.allItems()).filter((i) => i.kind === 'email_change_revert' && i.userId === owner.userId);
    expect(left).toEqual([]);
    expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
  });

  it('erasing the account releases the addresses reserved for its pending reverts; their links die (review 18b L2)', async () => {
    const owner = await verified(t);
    const [a, b, c] = [owner.email, fresh('b'), fresh('c')];
    const first = await changeEmail(t, owner, a, b);
    const second = await changeEmail(t, owner, b, c);
    await t.api
      .delete('/api/v1/users/me?mode=erase')
      .set('authorization', owner.bearer)
      .send({ password: owner.password })
      .expect(204);
    for (const email of [a, b, c]) expect(await t.getItem(`UNIQUE#EMAIL#${email}`, 'UNIQUE')).toBeUndefined();
    for (const token of [first, second]) {
      expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
    }
    await signUp(t, { email: a });
    await signUp(t, { email: b });
  });

  it('an account its owner deactivated is active again after the revert, so the owner can reset and sign in (review 18b L3)', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', owner.bearer)
      .send({ password: owner.password })
      .expect(204);
    expect((await t.getItem(`USER#${owner.userId}`, 'USER'))?.deactivatedBy).toBe('owner');
    await revert(t, token).expect(204);
    const restored = await t.getItem(`USER#${owner.userId}`, 'USER');
    expect(restored).toMatchObject({ email: owner.email, status: 'active' });
    expect(restored).not.toHaveProperty('deactivatedBy');
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: owner.email }).expect(202);
    await t.mailSent();
    await t.api
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: t.mailer.tokenFor(owner.email, 'password_reset'), newPassword: 'mine-again-2' })
      .expect(204);
    await login(t, owner.email, 'mine-again-2').expect(200);
  });

  it('an account an admin deactivated stays deactivated after the revert, even one its owner had deactivated first', async () => {
    const users = t.app.get(UsersService);
    const byAdmin = await verified(t);
    const first = await changeEmail(t, byAdmin, byAdmin.email, fresh('thief'));
    // As an admin deactivates it (PATCH /users/{id}/status).
    await users.setStatus(byAdmin.userId, 'inactive');
    const both = await verified(t);
    const second = await changeEmail(t, both, both.email, fresh('thief'));
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', both.bearer)
      .send({ password: both.password })
      .expect(204);
    // Then an admin deactivates it too (DELETE /users/{id}): the admin's decision is the one recorded.
    await users.deactivate(both.userId, 'admin');
    for (const [owner, token] of [
      [byAdmin, first],
      [both, second],
    ] as const) {
      await revert(t, token).expect(204);
      expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({
        email: owner.email,
        status: 'inactive',
        deactivatedBy: 'admin',
      });
    }
  });

  it('a suspended account stays suspended after the revert', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    // As an admin suspends it (PATCH /users/{id}/status).
    await t.app.get(UsersService).setStatus(owner.userId, 'suspended');
    await revert(t, token).expect(204);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({ email: owner.email, status: 'suspended' });
  });

  it('the link of an account whose erasure is pending restores the address, not the status: a deactivated one stays inactive, marked; an admin still gets 409 (review 19b M1)', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', owner.bearer)
      .send({ password: owner.password })
      .expect(204);
    // The hard delete's first write, the state a hard delete that failed midway leaves.
    await t.app.get(UsersService).prepareErasure(owner.userId);
    await revert(t, token).expect(204);
    const item = await t.getItem(`USER#${owner.userId}`, 'USER');
    expect(item).toMatchObject({ email: owner.email, status: 'inactive' });
    expect(item?.erasureRequestedAt).toEqual(expect.any(String));
    // As an admin suspends it (PATCH /users/{id}/status): the erase's request stands.
    await expect(t.app.get(UsersService).setStatus(owner.userId, 'suspended')).rejects.toMatchObject({
      status: 409,
      code: 'erasure_pending',
    });
  });

  it('the link of an account whose own erase is pending keeps it suspended and keeps the password: the owner signs in at the restored address to retry the erase (review 19b L6)', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    await t.app.get(UsersService).prepareErasure(owner.userId);
    await revert(t, token).expect(204);
    expect(await t.getItem(`USER#${owner.userId}`, 'USER')).toMatchObject({
      email: owner.email,
      status: 'suspended',
      erasureSignIn: true,
    });
    await login(t, owner.email, owner.password).expect(200);
    // Its notice says the password was kept (no password_changed: the password generation did not rise).
    await t.mailSent();
    expect(t.mailer.last(owner.email, 'email_change_undone')?.text).toContain('The password was kept');
  });

  it('two concurrent uses of one link: exactly one wins', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    const statuses = (await Promise.all([revert(t, token), revert(t, token)])).map((r) => r.status).sort();
    expect(statuses).toEqual([204, 400]);
  });

  it('a sign-in through an email item that is not the account’s email is refused', async () => {
    const owner = await verified(t);
    const stale = fresh('stale');
    // An email item left pointing at an account that moved away (a stale uniqueness item).
    await t.db.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { PK: `UNIQUE#EMAIL#${stale}`, SK: 'UNIQUE', entity: 'Unique', kind: 'email', userId: owner.userId },
      }),
    );
    expect((await login(t, stale, owner.password).expect(401)).body.code).toBe('invalid_credentials');
    await login(t, owner.email, owner.password).expect(200);
  });

  // Last: it moves the app's clock past the link's lifetime.
  it('an expired link is refused, and the lapsed reservation no longer holds the address', async () => {
    const owner = await verified(t);
    const token = await changeEmail(t, owner, owner.email, fresh('thief'));
    t.clock.advance(48 * 3600 * 1000 + 1000);
    try {
      expect((await revert(t, token).expect(400)).body.code).toBe('invalid_or_expired_token');
      await signUp(t, { email: owner.email });
      expect((await t.getItem(`UNIQUE#EMAIL#${owner.email}`, 'UNIQUE'))?.userId).not.toBe(owner.userId);
    } finally {
      t.clock.reset();
    }
  });
});

describe('uses of mailed links are limited per client IP (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LINK_REDEEM_RATE_MAX_PER_IP: '2', LINK_REDEEM_RATE_WINDOW_SECONDS: '600' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('the revert, reset and verification confirmations share one budget; over it 429 too_many_link_attempts', async () => {
    const bogus = 'A'.repeat(43);
    await revert(t, bogus).expect(400);
    await t.api.post('/api/v1/auth/verify-email/confirm').send({ token: bogus }).expect(400);
    for (const refused of [
      await revert(t, bogus),
      await t.api.post('/api/v1/auth/verify-email/confirm').send({ token: bogus }),
      await t.api.post('/api/v1/auth/password-reset/confirm').send({ token: bogus, newPassword: 'whatever-123' }),
    ]) {
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('too_many_link_attempts');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});
