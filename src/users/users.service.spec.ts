import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { badRequest, conflict, DomainError } from '../common/errors/domain-error.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { SequentialIds } from '../common/ids.js';
import type { AppConfig } from '../config/app-config.js';
import type { CursorCodec } from '../dynamo/cursor.js';
import type { RateLimiter } from '../dynamo/rate-limiter.js';
import type { TransactionPart } from '../dynamo/transactions.js';
import type { ActionLinksService } from '../identity/action-links/action-links.service.js';
import type { SessionsRepository } from '../identity/sessions/sessions.repository.js';
import type { PasswordHasher } from './password-hasher.js';
import type { Profile, User, UserWithPassword } from './user.entity.js';
import type { UsersRepository } from './users.repository.js';
import { AdminAccountBeingErasedError, AdminEmailReservedError, UsersService } from './users.service.js';
import { accountFixture } from '../identity/account.testing.js';
import { erasureMarkerRemoval } from '../identity/account.js';
import { MemoryAuditLog } from '../logging/audit.js';

const NOW = '2026-05-15T12:00:00.000Z';
const EARLIER = '2026-05-01T08:00:00.000Z';
const IP = '192.0.2.7';

const user = accountFixture;
const profile = (userId: string, version = 2): Profile => ({ userId, updatedAt: EARLIER, version });

/**
 * The collaborators faked at their tokens: the repository over an in-memory map of users, usernames
 * taken by someone else, a hasher whose right password is `right`, and recorders for the rest.
 */
function setUp(stored: UserWithPassword[] = [], takenUsernames: string[] = []) {
  const byId = new Map(stored.map((u) => [u.id, u]));
  const withoutHash = (u: UserWithPassword | undefined): User | undefined => {
    if (!u) return undefined;
    const { passwordHash: _hash, ...rest } = u;
    return rest;
  };
  const users = {
    create: jest.fn((created: UserWithPassword, _profile: Profile, ..._parts: TransactionPart[]) =>
      takenUsernames.includes(created.username)
        ? Promise.reject(conflict(ErrorCode.UsernameTaken, 'taken'))
        : Promise.resolve(),
    ),
    findById: jest.fn((id: string) => Promise.resolve(withoutHash(byId.get(id)))),
    findWithPassword: jest.fn((id: string) => Promise.resolve(byId.get(id))),
    findAggregate: jest.fn((id: string, _consistent?: boolean) => {
      const found = withoutHash(byId.get(id));
      return Promise.resolve(
        found && { user: found, profile: profile(id), follows: { followerCount: 0, followingCount: 0 } },
      );
    }),
    findIdByEmail: jest.fn((email: string) => Promise.resolve([...byId.values()].find((u) => u.email === email)?.id)),
    // The stored users were written a moment ago: only a strongly consistent read is sure to see them.
    findStatus: jest.fn((id: string, consistent = false) =>
      Promise.resolve(consistent ? byId.get(id)?.status : undefined),
    ),
    updateProfile: jest.fn((_userId: string, _changes: unknown, _version: number) => Promise.resolve()),
    changeEmail: jest.fn((_user: User, _email: string, _revert: unknown, ..._parts: TransactionPart[]) =>
      Promise.resolve(),
    ),
    emailInUse: jest.fn((email: string, _now: string) =>
      Promise.resolve(email === 'taken@example.com' || [...byId.values()].some((u) => u.email === email)),
    ),
    findEmailReservation: jest.fn(
      (_email: string): Promise<{ reservedFor: string; reservedUntil: string } | undefined> =>
        Promise.resolve(undefined),
    ),
    revertEmail: jest.fn((_user: User, _plan: unknown, _hash: string, _consume: TransactionPart) =>
      Promise.resolve<{ epoch: number; reactivated?: true }>({ epoch: 1 }),
    ),
    // The cutoff the write leaves: the epoch raised once (the fixtures start at 0).
    // Stored, as the write would (the next read sees the status and the erasure marker).
    // The marker's removal is the repository's rule (erasureMarkerRemoval), applied here as it does.
    setRoleAndStatus: jest.fn((written: User, changes: Partial<User>) => {
      const next: Record<string, unknown> = { ...byId.get(written.id)!, ...changes, version: written.version + 1 };
      for (const removed of erasureMarkerRemoval(written, changes as { status?: User['status'] })) delete next[removed];
      byId.set(written.id, next as unknown as UserWithPassword);
      return Promise.resolve({ epoch: 1 });
    }),
    takeOverAsAdmin: jest.fn((_user: User, _hash: string) => Promise.resolve({ epoch: 1 })),
    erase: jest.fn((_user: User) => Promise.resolve()),
  };
  const sessions = {
    deleteEnded: jest.fn((_userId: string, _cutoff: unknown) => Promise.resolve(1)),
    listForUser: jest.fn((_userId: string, _cutoff?: unknown) => Promise.resolve([])),
  };
  const passwords = { verify: jest.fn((password: string, _hash: string) => Promise.resolve(password === 'right')) };
  const actionLinks = {
    requestLink: jest.fn((_kind: string, _to: { id: string; email: string }) => Promise.resolve()),
    linkRequestPart: jest.fn((kind: string, to: { id: string; email: string }): TransactionPart => ({
      item: { Put: { TableName: 't', Item: { kind, to } } },
    })),
  };
  const limiter = {
    consume: jest.fn((_rules: unknown, _code?: ErrorCode) => Promise.resolve()),
    tryTake: jest.fn((_check: unknown, _count: number) => Promise.resolve(true)),
  };
  const clock = new SettableClock().set(NOW);
  const config = {
    auth: { emailChangeRevertTtlHours: 168, actionTokenTtlSeconds: 3600 },
    rateLimits: {
      renamePerAccount: { name: 'rename' },
      passwordCheckPerAccount: { name: 'password-check' },
      emailChangePerIp: { name: 'email-change-ip' },
      emailChangePerEmail: { name: 'email-change-email' },
    },
  } as unknown as AppConfig;
  const audit = new MemoryAuditLog();
  const service = new UsersService(
    users as unknown as UsersRepository,
    sessions as unknown as SessionsRepository,
    passwords as unknown as PasswordHasher,
    actionLinks as unknown as ActionLinksService,
    {} as CursorCodec,
    clock,
    new SequentialIds('user'),
    limiter as unknown as RateLimiter,
    config,
    audit,
  );
  return { service, users, sessions, passwords, actionLinks, limiter, clock, audit };
}

describe('UsersService.create', () => {
  it('writes a pending user and its empty profile with the next id and the clock, and returns no hash', async () => {
    const { service, users } = setUp();
    const created = await service.create({ email: ' Ada@Example.com', passwordHash: 'h' });
    expect(created).toEqual({
      id: 'user00000000000000001',
      email: 'ada@example.com',
      username: 'ada',
      firstName: undefined,
      lastName: undefined,
      role: 'user',
      status: 'pending',
      emailVerified: false,
      loginCount: 0,
      createdAt: NOW,
      updatedAt: NOW,
      version: 1,
    });
    expect(users.create.mock.calls).toEqual([
      [
        { ...created, passwordHash: 'h' },
        { userId: created.id, updatedAt: NOW, version: 1 },
      ],
    ]);
  });

  it('a registration signs in in the same write: the sign-in items join it, and the login is counted', async () => {
    const { service, users } = setUp();
    const session = { item: { Put: { TableName: 't', Item: { PK: 'session' } } } };
    const signIn = jest.fn((_user: User) => session);
    const created = await service.create({ email: 'ada@example.com', passwordHash: 'h' }, signIn);
    expect(created).toMatchObject({ lastLoginAt: NOW, loginCount: 1 });
    expect(signIn.mock.calls).toEqual([[created]]);
    expect(users.create.mock.calls[0].slice(2)).toEqual([session]);
  });

  it('a derived username that is taken gets a suffix from the id generator, up to 5 attempts', async () => {
    const { service, users } = setUp([], ['ada', 'ada-0002']);
    const created = await service.create({ email: 'ada@example.com', passwordHash: 'h' });
    // Ids and digits come from one sequence: id 1, digits 2 (taken), id 3, digits 4, id 5.
    expect(users.create.mock.calls.map(([u]) => u.username)).toEqual(['ada', 'ada-0002', 'ada-0004']);
    expect(created.username).toBe('ada-0004');

    const unlucky = setUp([], ['bob', 'bob-0002', 'bob-0004', 'bob-0006', 'bob-0008']);
    expect(await refusalOf(() => unlucky.service.create({ email: 'bob@example.com', passwordHash: 'h' }))).toBe(
      '409 username_taken',
    );
    expect(unlucky.users.create).toHaveBeenCalledTimes(5);
  });

  it('a username the caller chose that is taken is 409 username_taken at once, never suffixed', async () => {
    const { service, users } = setUp([], ['ada']);
    expect(await refusalOf(() => service.create({ email: 'x@example.com', passwordHash: 'h', username: 'ada' }))).toBe(
      '409 username_taken',
    );
    expect(users.create).toHaveBeenCalledTimes(1);
  });

  it('reserved usernames (deleted-user, nobody-*, staff names) are 409 username_taken when chosen, nothing written (review 22a L6)', async () => {
    for (const username of ['deleted-user', 'nobody-abc', 'admin', 'moderator', 'support']) {
      const { service, users } = setUp();
      expect(await refusalOf(() => service.create({ email: 'x@example.com', passwordHash: 'h', username }))).toBe(
        '409 username_taken',
      );
      expect(users.create).not.toHaveBeenCalled();
    }
  });

  it('a derived username that is reserved gets user- before it at once (deleted.user@... is not deleted-user)', async () => {
    for (const [email, username] of [
      ['deleted.user@example.com', 'user-deleted-user'],
      ['support.team@example.com', 'user-support-team'],
      ['admin2@example.com', 'user-admin2'],
    ]) {
      const { service, users } = setUp();
      const created = await service.create({ email, passwordHash: 'h' });
      expect(created.username).toBe(username);
      expect(users.create).toHaveBeenCalledTimes(1);
    }
  });

  it('look-alikes of a reserved name are 409 too (admin1, support-team); a name that only starts with one is free', async () => {
    for (const username of ['admin1', 'admin_', 'support-team', 'deleted_user']) {
      const { service, users } = setUp();
      expect(await refusalOf(() => service.create({ email: 'x@example.com', passwordHash: 'h', username }))).toBe(
        '409 username_taken',
      );
      expect(users.create).not.toHaveBeenCalled();
    }
    const { service } = setUp();
    expect((await service.create({ email: 'x@example.com', passwordHash: 'h', username: 'adminton' })).username).toBe(
      'adminton',
    );
  });
});

describe('UsersService.updateOwn', () => {
  it('a rename to a reserved username is 409 username_taken, nothing written (review 22a L6)', async () => {
    // updateAccount is not faked: a write would fail as a TypeError, not as the 409.
    const { service } = setUp([user('u1')]);
    for (const username of ['deleted-user', 'nobody-x1', 'admin', 'admin1', 'staff_picks']) {
      expect(await refusalOf(() => service.updateOwn('u1', { username }, undefined))).toBe('409 username_taken');
    }
  });
});

describe('UsersService.updateProfile', () => {
  it("refuses a birth date that is not before the app's clock: 400 validation_failed, nothing read or written", async () => {
    const { service, users, clock } = setUp([user('u1')]);
    clock.set('2000-06-01T12:00:00.000Z');
    expect(await refusalOf(() => service.updateProfile('u1', { dateOfBirth: '2000-06-02' }, undefined))).toBe(
      '400 validation_failed',
    );
    expect(await refusalOf(() => service.updateProfile('u1', { dateOfBirth: '2001-01-01' }, undefined))).toBe(
      '400 validation_failed',
    );
    expect(users.findAggregate).not.toHaveBeenCalled();
    expect(users.updateProfile).not.toHaveBeenCalled();

    // The same date once the clock has moved past it.
    clock.set('2001-01-01T00:00:01.000Z');
    expect(await refusalOf(() => service.updateProfile('u1', { dateOfBirth: '2001-01-01' }, undefined))).toBe(
      'allowed',
    );
    expect(users.updateProfile.mock.calls).toEqual([['u1', { dateOfBirth: '2001-01-01' }, 2]]);
  });

  it('names the field in the refusal', async () => {
    const { service } = setUp([user('u1')]);
    const error = await service.updateProfile('u1', { dateOfBirth: '2999-01-01' }, undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).extras).toEqual({
      errors: [{ field: 'dateOfBirth', messages: ['dateOfBirth must be a real date (YYYY-MM-DD) in the past'] }],
    });
  });

  it('a stale If-Match is 412 version_mismatch, nothing written; the current one writes at that version', async () => {
    const { service, users } = setUp([user('u1')]);
    expect(await refusalOf(() => service.updateProfile('u1', { bio: 'x' }, 1))).toBe('412 version_mismatch');
    expect(users.updateProfile).not.toHaveBeenCalled();
    await service.updateProfile('u1', { bio: 'x' }, 2);
    expect(users.updateProfile.mock.calls).toEqual([['u1', { bio: 'x' }, 2]]);
  });
});

describe('UsersService: an email change, asked for then confirmed (review 22a M3)', () => {
  /** `n` undo links pending, of generations 1..n. */
  const pendingReverts = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      generation: i + 1,
      email: `old${i}@example.com`,
      expiresAt: '2026-06-02T00:00:00.000Z',
    }));
  const consume: TransactionPart = { item: { Delete: { TableName: 't', Key: { PK: 'TOKEN', SK: 'TOKEN' } } } };
  /** The link a request for `email` on a fresh account mails (its generations as the account's). */
  const linkOf = (email: string, changes: Partial<{ emailGeneration: number; passwordGeneration: number }> = {}) => ({
    userId: 'u1',
    email,
    emailGeneration: 0,
    passwordGeneration: 0,
    resetGeneration: 0,
    ...changes,
  });

  it('a wrong password is 403 wrong_password after the per-account limit is counted; nothing asked for', async () => {
    const { service, users, limiter, actionLinks } = setUp([user('u1')]);
    expect(await refusalOf(() => service.requestEmailChange('u1', 'new@example.com', 'wrong', IP))).toBe(
      '403 wrong_password',
    );
    expect(limiter.consume.mock.calls).toEqual([
      [
        [
          { rule: { name: 'email-change-ip' }, subject: '192.0.2.7' },
          { rule: { name: 'password-check' }, subject: 'u1' },
        ],
      ],
    ]);
    expect(limiter.tryTake).not.toHaveBeenCalled();
    expect(users.changeEmail).not.toHaveBeenCalled();
    expect(actionLinks.requestLink).not.toHaveBeenCalled();
  });

  it("past the new address's budget the request is answered the same, with a stand-in mail request (no mail) (review 23 M-1)", async () => {
    const { service, actionLinks, limiter } = setUp([user('u1')]);
    const answer = await service.requestEmailChange('u1', 'new@example.com', 'right', IP);
    limiter.tryTake.mockResolvedValueOnce(false);
    expect(await service.requestEmailChange('u1', ' New@Example.com ', 'right', IP)).toEqual(answer);
    expect(limiter.tryTake.mock.calls).toEqual([
      [{ rule: { name: 'email-change-email' }, subject: 'new@example.com' }, 1],
      [{ rule: { name: 'email-change-email' }, subject: 'new@example.com' }, 1],
    ]);
    expect(actionLinks.requestLink.mock.calls).toEqual([
      ['email_change', expect.objectContaining({ id: 'u1', email: 'new@example.com' })],
      ['email_change', undefined],
    ]);
  });

  it('the request moves nothing: it asks for an email_change link to the new address, and answers the pending address', async () => {
    const { service, users, actionLinks } = setUp([user('u1')]);
    expect(await service.requestEmailChange('u1', ' New@Example.com ', 'right', IP)).toEqual({
      pendingEmail: 'new@example.com',
      expiresAt: '2026-05-15T13:00:00.000Z',
    });
    expect(users.changeEmail).not.toHaveBeenCalled();
    expect(actionLinks.requestLink.mock.calls).toEqual([
      ['email_change', expect.objectContaining({ id: 'u1', email: 'new@example.com' })],
    ]);
  });

  it("a taken address is 409 email_taken, the account's own is 400; nothing asked for or counted against the address", async () => {
    const { service, actionLinks, limiter } = setUp([user('u1')]);
    expect(await refusalOf(() => service.requestEmailChange('u1', 'taken@example.com', 'right', IP))).toBe(
      '409 email_taken',
    );
    expect(await refusalOf(() => service.requestEmailChange('u1', 'U1@example.com', 'right', IP))).toBe(
      '400 validation_failed',
    );
    expect(limiter.tryTake).not.toHaveBeenCalled();
    expect(actionLinks.requestLink).not.toHaveBeenCalled();
  });

  it('the link used: moved, the old verified address reserved for its undo link, the use in the same transaction', async () => {
    const { service, users } = setUp([user('u1')]);
    expect(await service.confirmEmailChange(linkOf('new@example.com'), consume)).toBe(true);
    expect(users.changeEmail.mock.calls).toEqual([
      [
        expect.objectContaining({ id: 'u1' }),
        'new@example.com',
        {
          reserveUntil: '2026-05-22T12:00:00.000Z',
          reverts: [
            { generation: 1, email: 'u1@example.com', expiresAt: '2026-05-22T12:00:00.000Z', takeoverGeneration: 0 },
          ],
        },
        consume,
      ],
    ]);
  });

  it('a link of another email or password generation (a change, revert, password change or reset since) does nothing', async () => {
    const { service, users } = setUp([user('u1', { emailGeneration: 2, passwordGeneration: 1 })]);
    for (const link of [
      linkOf('new@example.com', { emailGeneration: 1, passwordGeneration: 1 }),
      linkOf('new@example.com', { emailGeneration: 2, passwordGeneration: 0 }),
    ]) {
      expect(await service.confirmEmailChange(link, consume)).toBe(false);
    }
    expect(users.changeEmail).not.toHaveBeenCalled();
  });

  it('a link of a suspended or deactivated account does nothing; of a pending one, it moves (review 23 L-1)', async () => {
    for (const status of ['suspended', 'inactive'] as const) {
      const { service, users } = setUp([user('u1', { status })]);
      expect(await service.confirmEmailChange(linkOf('new@example.com'), consume)).toBe(false);
      expect(users.changeEmail).not.toHaveBeenCalled();
    }
    const { service, users } = setUp([user('u1', { status: 'pending', emailVerified: false })]);
    expect(await service.confirmEmailChange(linkOf('new@example.com'), consume)).toBe(true);
    expect(users.changeEmail).toHaveBeenCalledTimes(1);
  });

  it('an address the account never verified is released, not reserved, and gets no undo link (review 18b M1)', async () => {
    const earlier = { generation: 1, email: 'old@example.com', expiresAt: '2026-05-20T00:00:00.000Z' };
    const lapsed = { generation: 0, email: 'gone@example.com', expiresAt: EARLIER };
    const { service, users } = setUp([
      user('u1', { emailVerified: false, emailGeneration: 1, emailReverts: [lapsed, earlier] }),
    ]);
    await service.confirmEmailChange(linkOf('new@example.com', { emailGeneration: 1 }), consume);
    expect(users.changeEmail.mock.calls[0][2]).toEqual({ reverts: [earlier] });
  });

  it('10 undo links pending: a request, and a link, is 409 too_many_email_changes (review 18b H1)', async () => {
    const reverts = pendingReverts(10);
    const { service, users } = setUp([user('u1', { emailGeneration: 10, emailReverts: reverts })]);
    expect(await refusalOf(() => service.requestEmailChange('u1', 'new@example.com', 'right', IP))).toBe(
      '409 too_many_email_changes',
    );
    expect(
      await refusalOf(() => service.confirmEmailChange(linkOf('new@example.com', { emailGeneration: 10 }), consume)),
    ).toBe('409 too_many_email_changes');
    expect(users.changeEmail).not.toHaveBeenCalled();
  });

  it('9 undo links pending: the 10th change keeps every live one and adds its own', async () => {
    const reverts = pendingReverts(9);
    const { service, users } = setUp([
      user('u1', { emailGeneration: 9, emailReverts: reverts, takeoverGeneration: 2 }),
    ]);
    await service.confirmEmailChange(linkOf('new@example.com', { emailGeneration: 9 }), consume);
    // The revert records the account's takeover generation (review 22a H1).
    expect(users.changeEmail.mock.calls[0][2]).toEqual({
      reserveUntil: '2026-05-22T12:00:00.000Z',
      reverts: [
        ...reverts,
        { generation: 10, email: 'u1@example.com', expiresAt: '2026-05-22T12:00:00.000Z', takeoverGeneration: 2 },
      ],
    });
  });
});

describe('UsersService: deactivation, erasure', () => {
  it('deactivate: inactive at the clock, by whom recorded, every session revoked; an inactive account is not written again', async () => {
    const { service, users, sessions } = setUp([user('u1'), user('gone', { status: 'inactive' })]);
    await service.deactivate('u1', 'owner');
    expect(users.setRoleAndStatus.mock.calls).toEqual([[user('u1', { passwordHash: undefined }), expect.anything()]]);
    expect(users.setRoleAndStatus.mock.calls[0][1]).toEqual({
      status: 'inactive',
      deletedAt: NOW,
      deactivatedBy: 'owner',
    });
    await service.deactivate('gone', 'owner');
    expect(users.setRoleAndStatus).toHaveBeenCalledTimes(1);
    // The deletes are clean-up after the status write's cutoff (an account already inactive: its own).
    expect(sessions.deleteEnded.mock.calls).toEqual([
      ['u1', { epoch: 1 }],
      ['gone', { epoch: 0, keeps: undefined }],
    ]);
    expect(await refusalOf(() => service.deactivate('nobody', 'admin'))).toBe('404 user_not_found');
  });

  it("an admin's deactivation of an account its owner deactivated is recorded as the admin's; the admin's is not written again", async () => {
    const { service, users } = setUp([
      user('self', { status: 'inactive', deactivatedBy: 'owner' }),
      user('admin-done', { status: 'inactive', deactivatedBy: 'admin' }),
    ]);
    await service.deactivate('self', 'admin');
    await service.deactivate('admin-done', 'admin');
    await service.setStatus('admin-done', 'inactive');
    expect(users.setRoleAndStatus.mock.calls.map(([u, next]) => [u.id, next])).toEqual([
      ['self', { status: 'inactive', deletedAt: NOW, deactivatedBy: 'admin' }],
    ]);
  });

  it('prepareErasure suspends a pending or active account first (its sessions end; an admin: the last-admin rule applies), marking it for erasure', async () => {
    const { service, users } = setUp([
      user('admin', { role: 'admin' }),
      user('u1'),
      user('new', { status: 'pending' }),
      user('held', { status: 'suspended' }),
      user('gone', { status: 'inactive' }),
      user('again', { status: 'suspended', erasureRequestedAt: EARLIER }),
    ]);
    for (const id of ['admin', 'u1', 'new', 'held', 'gone', 'again']) await service.prepareErasure(id);
    // Review 16a L2: every session ends before any content is touched. Suspended and deactivated
    // accounts' sessions ended with that move: they keep their status. Review 17a L1: the same
    // write records when the erasure was asked for; a retry keeps the first time (not written).
    expect(users.setRoleAndStatus.mock.calls.map(([u, change]) => [u.id, change])).toEqual([
      ['admin', { status: 'suspended', erasureRequestedAt: NOW, erasureSignIn: true }],
      ['u1', { status: 'suspended', erasureRequestedAt: NOW, erasureSignIn: true }],
      ['new', { status: 'suspended', erasureRequestedAt: NOW, erasureSignIn: true }],
      ['held', { erasureRequestedAt: NOW }],
      ['gone', { erasureRequestedAt: NOW }],
    ]);
    expect(await refusalOf(() => service.prepareErasure('nobody'))).toBe('404 user_not_found');
  });

  it('an erasure whose last step failed can be run again: the account stays suspended and marked, and the retry erases it (review 17a L1)', async () => {
    const { service, users, clock } = setUp([user('u1')]);
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ThrottlingException',
    });
    users.erase.mockRejectedValueOnce(throttled);
    // The workflow's steps, as `UserErasureWorkflow.erase` runs them (the content walk is elsewhere).
    const erase = async () => {
      await service.prepareErasure('u1');
      await service.eraseAccount('u1');
    };
    await expect(erase()).rejects.toBe(throttled);
    expect(await users.findById('u1')).toMatchObject({ status: 'suspended', erasureRequestedAt: NOW });

    clock.set('2026-05-15T12:30:00.000Z');
    await erase();
    expect(users.erase).toHaveBeenCalledTimes(2);
    // The retry erased the account as suspended and marked at the first attempt, not written again.
    expect(users.erase.mock.calls[1][0]).toMatchObject({ id: 'u1', status: 'suspended', erasureRequestedAt: NOW });
    expect(users.setRoleAndStatus).toHaveBeenCalledTimes(1);
  });

  it('an admin cannot change the status of a marked account (active, suspended, inactive; user:role admin): 409 erasure_pending, nothing written (session 19)', async () => {
    const marked = { status: 'suspended' as const, erasureRequestedAt: EARLIER, erasureSignIn: true as const };
    const { service, users } = setUp([
      user('admin', { role: 'admin' }),
      user('u1', marked),
      user('held', { status: 'suspended', erasureRequestedAt: EARLIER }),
    ]);
    for (const status of ['active', 'inactive'] as const)
      expect(await refusalOf(() => service.setStatus('u1', status))).toBe('409 erasure_pending');
    expect(await refusalOf(() => service.setStatus('held', 'active'))).toBe('409 erasure_pending');
    const email = (await users.findById('u1'))!.email;
    expect(await refusalOf(() => service.setRoleByEmail(email, 'admin'))).toBe('409 erasure_pending');
    // Suspending what the erase suspended changes nothing: the answer shows the account as it is.
    expect(await service.setStatus('u1', 'suspended')).toMatchObject({
      status: 'suspended',
      erasureRequestedAt: EARLIER,
    });
    expect(users.setRoleAndStatus).not.toHaveBeenCalled();
    expect(await service.isMarkedForErasure('u1')).toBe(true);
  });

  it("a status change that loses the race to the erase's marker (412 on the version) is the same 409 erasure_pending; an unmarked account's 412 stays 412", async () => {
    const { service, users } = setUp([user('u1'), user('u2')]);
    // The erase marked u1 between the admin's read and write: the write fails on the version.
    users.setRoleAndStatus.mockImplementationOnce((raced: User) => {
      users.findById.mockResolvedValueOnce({ ...raced, status: 'suspended', erasureRequestedAt: NOW, version: 9 });
      return Promise.reject(versionMismatch(`user ${raced.id}`));
    });
    expect(await refusalOf(() => service.setStatus('u1', 'suspended'))).toBe('409 erasure_pending');
    users.setRoleAndStatus.mockRejectedValueOnce(versionMismatch());
    expect(await refusalOf(() => service.setStatus('u2', 'suspended'))).toBe('412 version_mismatch');
  });

  it('an account already suspended gains the marker without the sign-in (review 18d M1)', async () => {
    const { service, users } = setUp([user('held', { status: 'suspended' }), user('u1')]);
    await service.prepareErasure('held');
    expect(await users.findById('held')).not.toHaveProperty('erasureSignIn');
    await service.prepareErasure('u1');
    expect(await users.findById('u1')).toMatchObject({ erasureSignIn: true });
  });

  it('eraseAccount: a version changed meanwhile is read again: gone is done, present is erased as read now (review 18d L1)', async () => {
    const { service, users } = setUp([user('u1'), user('u2')]);
    // Another erase of u1 won the race: its delete fails on the version, the fresh read finds nothing.
    users.erase.mockImplementationOnce((raced: User) => {
      users.findById.mockResolvedValueOnce(undefined);
      return Promise.reject(versionMismatch(`user ${raced.id}`));
    });
    expect(await service.eraseAccount('u1')).toBe(true);
    // A password reset bumped u2's version between the read and the delete: erased at the new one.
    users.erase.mockRejectedValueOnce(versionMismatch());
    expect(await service.eraseAccount('u2')).toBe(true);
    expect(users.erase.mock.calls.map(([u]) => u.id)).toEqual(['u1', 'u2', 'u2']);
    expect(await refusalOf(() => service.eraseAccount('nobody'))).toBe('404 user_not_found');
  });

  it('confirmErasure: 400 password_required without a password (before the limit), 403 wrong_password', async () => {
    const { service, limiter } = setUp([user('u1')]);
    expect(await refusalOf(() => service.confirmErasure('u1', undefined))).toBe('400 password_required');
    expect(limiter.consume).not.toHaveBeenCalled();
    expect(await refusalOf(() => service.confirmErasure('u1', 'wrong'))).toBe('403 wrong_password');
    expect(await refusalOf(() => service.confirmErasure('u1', 'right'))).toBe('allowed');
    expect(limiter.consume).toHaveBeenCalledTimes(2);
    expect(await refusalOf(() => service.confirmErasure('nobody', 'right'))).toBe('404 user_not_found');
  });
});

describe('UsersService: admin changes', () => {
  it('setStatus: suspending revokes every session; inactive is stamped at the clock; active keeps sessions', async () => {
    const { service, users, sessions } = setUp([user('u1'), user('u2'), user('u3', { status: 'suspended' })]);
    await service.setStatus('u1', 'suspended');
    await service.setStatus('u2', 'inactive');
    await service.setStatus('u3', 'active');
    expect(users.setRoleAndStatus.mock.calls.map(([u, change]) => [u.id, change])).toEqual([
      ['u1', { status: 'suspended' }],
      ['u2', { status: 'inactive', deletedAt: NOW, deactivatedBy: 'admin' }],
      ['u3', { status: 'active' }],
    ]);
    expect(sessions.deleteEnded.mock.calls).toEqual([
      ['u1', { epoch: 1 }],
      ['u2', { epoch: 1 }],
    ]);
  });

  it('setRole and setStatus honour If-Match (412) and write nothing when nothing changes', async () => {
    const { service, users } = setUp([user('u1')]);
    expect(await refusalOf(() => service.setRole('u1', 'moderator', 2))).toBe('412 version_mismatch');
    expect(await refusalOf(() => service.setStatus('u1', 'suspended', 2))).toBe('412 version_mismatch');
    await service.setRole('u1', 'user', 3);
    expect(users.setRoleAndStatus).not.toHaveBeenCalled();
    await service.setRole('u1', 'moderator', 3);
    expect(users.setRoleAndStatus.mock.calls.map(([, change]) => change)).toEqual([{ role: 'moderator' }]);
    expect(await refusalOf(() => service.setRole('nobody', 'admin'))).toBe('404 user_not_found');
  });

  it('setRoleByEmail makes an admin active, and says when the email was never verified', async () => {
    const { service, users } = setUp([user('u1', { status: 'pending', emailVerified: false })]);
    const { unverifiedStaff } = await service.setRoleByEmail('u1@example.com', 'admin');
    expect(unverifiedStaff).toBe(true);
    expect(users.setRoleAndStatus.mock.calls.map(([, change]) => change)).toEqual([
      { role: 'admin', status: 'active' },
    ]);
    expect(await refusalOf(() => service.setRoleByEmail('nobody@example.com', 'admin'))).toBe('404 user_not_found');
  });

  it('setRoleByEmail says so for a moderator too, and not for a plain user (review 18c)', async () => {
    const { service } = setUp([user('u1', { status: 'active', emailVerified: false })]);
    expect((await service.setRoleByEmail('u1@example.com', 'moderator')).unverifiedStaff).toBe(true);
    expect((await service.setRoleByEmail('u1@example.com', 'user')).unverifiedStaff).toBe(false);
  });
});

describe('UsersService.ensureAdmin', () => {
  const hash = () => Promise.resolve('operator hash');

  it('creates a verified, active admin when the email is free', async () => {
    const { service, users } = setUp();
    expect(await service.ensureAdmin('root@example.com', hash)).toBe('created');
    expect(users.create.mock.calls[0][0]).toMatchObject({
      email: 'root@example.com',
      role: 'admin',
      status: 'active',
      emailVerified: true,
      emailVerifiedAt: NOW,
      passwordHash: 'operator hash',
    });
  });

  it('leaves an active verified admin alone; takes over any other account and revokes its sessions', async () => {
    const { service, users, sessions } = setUp([
      user('root', { email: 'root@example.com', role: 'admin' }),
      user('squatter', { email: 'boss@example.com', status: 'pending', emailVerified: false }),
    ]);
    expect(await service.ensureAdmin('root@example.com', hash)).toBe('unchanged');
    expect(users.takeOverAsAdmin).not.toHaveBeenCalled();
    expect(await service.ensureAdmin('boss@example.com', hash)).toBe('taken-over');
    expect(users.takeOverAsAdmin.mock.calls.map(([u, h]) => [u.id, h])).toEqual([['squatter', 'operator hash']]);
    expect(sessions.deleteEnded.mock.calls).toEqual([['squatter', { epoch: 1 }]]);
  });

  it('an address only reserved for a pending undo link: gives up saying so', async () => {
    const { service, users } = setUp();
    users.create.mockRejectedValue(conflict(ErrorCode.EmailTaken, 'taken'));
    users.findEmailReservation.mockResolvedValue({ reservedFor: 'u9', reservedUntil: '2026-06-08T12:00:00.000Z' });
    const refusal = service.ensureAdmin('boss@example.com', hash);
    await expect(refusal).rejects.toThrow(
      'the address is reserved until 2026-06-08T12:00:00.000Z for a pending revert of an email change of account u9',
    );
    // Its own class: the start-up logs it and goes on (review 18b M2).
    await expect(refusal).rejects.toBeInstanceOf(AdminEmailReservedError);
    expect(users.create).toHaveBeenCalledTimes(3);
  });

  it('an account whose erasure is pending is not taken over (it would be revived): gives up saying so (session 19)', async () => {
    const { service, users } = setUp([
      user('leaving', { email: 'boss@example.com', status: 'suspended', erasureRequestedAt: EARLIER }),
    ]);
    const refusal = service.ensureAdmin('boss@example.com', hash);
    await expect(refusal).rejects.toThrow(`account leaving is being erased (asked for at ${EARLIER})`);
    await expect(refusal).rejects.toBeInstanceOf(AdminAccountBeingErasedError);
    expect(users.takeOverAsAdmin).not.toHaveBeenCalled();
  });

  it('looks again when the account changed meanwhile (412) and gives up after 3 rounds', async () => {
    const { service, users } = setUp([user('squatter', { email: 'boss@example.com' })]);
    users.takeOverAsAdmin.mockRejectedValue(versionMismatch());
    await expect(service.ensureAdmin('boss@example.com', hash)).rejects.toThrow('Could not create or take over');
    expect(users.takeOverAsAdmin).toHaveBeenCalledTimes(3);
  });
});

describe('UsersService: reads', () => {
  it('the public view hides a deactivated account (404), the own view does not', async () => {
    const { service } = setUp([user('gone', { status: 'inactive' })]);
    expect(await refusalOf(() => service.getPublic('gone'))).toBe('404 user_not_found');
    expect(await refusalOf(() => service.getOwn('gone'))).toBe('allowed');
  });

  it('the export tells ended sessions apart by the user item it reads itself, not by an older copy (review 17a L2)', async () => {
    const { service, users, sessions } = setUp([user('u1', { sessionEpoch: 3, sessionEpochKeeps: 'kept' })]);
    (users as unknown as { ownedItemPages: unknown }).ownedItemPages = async function* () {};
    await service.accountPersonalData('u1', new Date(NOW), 10);
    expect(users.findAggregate).toHaveBeenCalledWith('u1', true);
    expect(sessions.listForUser).toHaveBeenCalledWith('u1', { epoch: 3, keeps: 'kept' });
  });
});

describe('UsersService.revertEmailChange', () => {
  const pending = { generation: 2, email: 'u1@example.com', expiresAt: '2026-06-08T12:00:00.000Z' };
  const later = { generation: 3, email: 'b@example.com', expiresAt: '2026-06-09T12:00:00.000Z' };
  // The link's use: passed through to the revert's transaction (review 18b L1).
  const consume: TransactionPart = { item: { Delete: { TableName: 't', Key: { PK: 'TOKEN#h', SK: 'TOKEN' } } } };

  it("a 412 with a changed emailReverts list: reads the account again and writes the new list's plan, with the link's use", async () => {
    const stored = user('u1', { email: 'thief@example.com', emailReverts: [pending] });
    const { service, users } = setUp([stored]);
    users.revertEmail.mockImplementationOnce(() => {
      // The account changed meanwhile: a later change (B -> C) added its own pending revert.
      Object.assign(stored, { email: 'c@example.com', emailReverts: [pending, later] });
      return Promise.reject(versionMismatch());
    });
    expect(
      await service.revertEmailChange('u1', { email: 'u1@example.com', generation: 2 }, 'unusable', consume),
    ).toEqual({
      epoch: 1,
    });
    expect(users.findById).toHaveBeenCalledTimes(2);
    expect(users.revertEmail.mock.calls.map((call) => call.slice(1))).toEqual([
      [{ target: pending, kept: [], undone: [] }, 'unusable', consume],
      [{ target: pending, kept: [], undone: [later] }, 'unusable', consume],
    ]);
  });

  it("a 412 after which the link's change is no longer pending: undefined, no second write", async () => {
    const stored = user('u1', { emailReverts: [pending] });
    const { service, users } = setUp([stored]);
    users.revertEmail.mockImplementationOnce(() => {
      Object.assign(stored, { emailReverts: [] });
      return Promise.reject(versionMismatch());
    });
    expect(
      await service.revertEmailChange('u1', { email: 'u1@example.com', generation: 2 }, 'h', consume),
    ).toBeUndefined();
    expect(users.revertEmail).toHaveBeenCalledTimes(1);
  });

  it.each([
    [
      '412 on every write while the change stays pending: after 5 writes (the link is not used up)',
      versionMismatch(),
      '503 transaction_conflict',
      5,
    ],
    [
      "the link used meanwhile (its part's error): not retried",
      badRequest(ErrorCode.InvalidActionToken, 'used'),
      '400 invalid_or_expired_token',
      1,
    ],
  ])('%s', async (_case, failure, refusal, writes) => {
    const { service, users } = setUp([user('u1', { emailReverts: [pending] })]);
    users.revertEmail.mockRejectedValue(failure);
    expect(
      await refusalOf(() => service.revertEmailChange('u1', { email: 'u1@example.com', generation: 2 }, 'h', consume)),
    ).toBe(refusal);
    expect(users.revertEmail).toHaveBeenCalledTimes(writes);
  });

  it('undefined, and no write, for a link whose change is no longer pending or an account that is gone', async () => {
    const { service, users } = setUp([user('u1', { emailReverts: [pending] })]);
    expect(
      await service.revertEmailChange('u1', { email: 'u1@example.com', generation: 1 }, 'h', consume),
    ).toBeUndefined();
    expect(
      await service.revertEmailChange('gone', { email: 'u1@example.com', generation: 2 }, 'h', consume),
    ).toBeUndefined();
    expect(users.revertEmail).not.toHaveBeenCalled();
  });
});

describe("UsersService.pageOfExisting (the admin listing of a user's posts)", () => {
  const page = { items: ['p1'], nextCursor: null };

  it('an account created a moment ago is found (a consistent read), not 404 (review 22 D)', async () => {
    const { service, users } = setUp([accountFixture('u1')]);
    expect(await service.pageOfExisting('u1', Promise.resolve(page))).toBe(page);
    expect(users.findStatus.mock.calls).toEqual([['u1', true]]);
  });

  it('an id with no account is 404 user_not_found', async () => {
    const { service } = setUp();
    expect(await refusalOf(() => service.pageOfExisting('nobody', Promise.resolve(page)))).toBe('404 user_not_found');
  });
});

describe('UsersService: audit lines (src/logging/audit.ts), written once the write succeeded', () => {
  const emailChangeUse: TransactionPart = { item: { Delete: { TableName: 't', Key: { PK: 'TOKEN', SK: 'TOKEN' } } } };
  const emailChangeLink = (changes: { emailGeneration?: number } = {}) => ({
    userId: 'u1',
    email: 'new@example.com',
    emailGeneration: 0,
    passwordGeneration: 0,
    resetGeneration: 0,
    ...changes,
  });
  const actions = (audit: { entries: { action: string }[] }) => audit.entries.map((entry) => entry.action);

  it('deactivate: by the owner or by an admin (its id); nothing for an account already inactive, or a refusal', async () => {
    const { service, audit } = setUp([
      user('u1'),
      user('u2'),
      user('gone', { status: 'inactive' }),
      user('erasing', { erasureRequestedAt: NOW }),
    ]);
    await service.deactivate('u1', 'owner');
    await service.deactivate('u2', 'admin', 'boss');
    await service.deactivate('gone', 'owner');
    await refusalOf(() => service.deactivate('erasing', 'owner'));
    expect(audit.entries).toEqual([
      { action: 'user.deactivated', actor: 'u1', actorKind: 'self', subject: 'u1', status: 'inactive', mode: 'owner' },
      {
        action: 'user.deactivated',
        actor: 'boss',
        actorKind: 'admin',
        subject: 'u2',
        status: 'inactive',
        mode: 'admin',
      },
    ]);
  });

  it('role and status changes by an admin, and by the operator (user:role); nothing when nothing changes', async () => {
    const { service, audit } = setUp([user('u1'), user('u2', { status: 'pending' })]);
    await service.setRole('u1', 'moderator', undefined, 'boss');
    await service.setRole('u1', 'moderator', undefined, 'boss');
    await service.setStatus('u1', 'suspended', undefined, 'boss');
    await service.setStatus('u1', 'suspended', undefined, 'boss');
    await refusalOf(() => service.setRole('u1', 'admin', 99, 'boss'));
    await service.setRoleByEmail('u2@example.com', 'admin');
    expect(audit.entries).toEqual([
      { action: 'user.role_changed', actor: 'boss', actorKind: 'admin', subject: 'u1', role: 'moderator' },
      { action: 'user.status_changed', actor: 'boss', actorKind: 'admin', subject: 'u1', status: 'suspended' },
      { action: 'user.role_changed', actorKind: 'operator', subject: 'u2', role: 'admin', status: 'active' },
    ]);
  });

  it('an email change: its request (password checked) and its confirmation link used; a refusal or a dead link none', async () => {
    const { service, audit } = setUp([user('u1')]);
    await refusalOf(() => service.requestEmailChange('u1', 'new@example.com', 'wrong', IP));
    await refusalOf(() => service.requestEmailChange('u1', 'U1@example.com', 'right', IP));
    await service.confirmEmailChange(emailChangeLink({ emailGeneration: 7 }), emailChangeUse);
    expect(audit.entries).toEqual([]);
    await service.requestEmailChange('u1', 'new@example.com', 'right', IP);
    await service.confirmEmailChange(emailChangeLink(), emailChangeUse);
    expect(audit.entries).toEqual([
      { action: 'user.email_change_requested', actor: 'u1', actorKind: 'self', subject: 'u1' },
      { action: 'user.email_changed', actor: 'u1', actorKind: 'link', subject: 'u1' },
    ]);
  });

  it('a confirmation or a revert that made the account active says so: status active (review 23 L-2)', async () => {
    const pending = { generation: 1, email: 'u2@example.com', expiresAt: '2026-06-08T12:00:00.000Z' };
    const consume: TransactionPart = { item: { Delete: { TableName: 't', Key: { PK: 'TOKEN#h', SK: 'TOKEN' } } } };
    const { service, audit, users } = setUp([
      user('u1', { status: 'pending', emailVerified: false }),
      user('u2', { email: 'thief@example.com', status: 'inactive', deactivatedBy: 'owner', emailReverts: [pending] }),
    ]);
    await service.confirmEmailChange(emailChangeLink(), emailChangeUse);
    users.revertEmail.mockResolvedValueOnce({ epoch: 1, reactivated: true });
    await service.revertEmailChange('u2', { email: 'u2@example.com', generation: 1 }, 'h', consume);
    expect(audit.entries).toEqual([
      { action: 'user.email_changed', actor: 'u1', actorKind: 'link', subject: 'u1', status: 'active' },
      {
        action: 'user.email_change_reverted',
        actor: 'u2',
        actorKind: 'link',
        subject: 'u2',
        status: 'active',
        keptAdminRole: false,
      },
    ]);
  });

  it("an undo link's revert says whether the account kept an admin role (review 22a H1's addendum); a dead link none", async () => {
    const pending = { generation: 2, email: 'u1@example.com', expiresAt: '2026-06-08T12:00:00.000Z' };
    const consume: TransactionPart = { item: { Delete: { TableName: 't', Key: { PK: 'TOKEN#h', SK: 'TOKEN' } } } };
    const { service, audit } = setUp([
      user('u1', { email: 'thief@example.com', emailReverts: [pending] }),
      user('u2', {
        email: 'thief2@example.com',
        role: 'admin',
        emailReverts: [{ ...pending, email: 'u2@example.com' }],
      }),
    ]);
    await service.revertEmailChange('u1', { email: 'u1@example.com', generation: 1 }, 'h', consume);
    expect(audit.entries).toEqual([]);
    await service.revertEmailChange('u1', { email: 'u1@example.com', generation: 2 }, 'h', consume);
    await service.revertEmailChange('u2', { email: 'u2@example.com', generation: 2 }, 'h', consume);
    expect(audit.entries).toEqual([
      { action: 'user.email_change_reverted', actor: 'u1', actorKind: 'link', subject: 'u1', keptAdminRole: false },
      { action: 'user.email_change_reverted', actor: 'u2', actorKind: 'link', subject: 'u2', keptAdminRole: true },
    ]);
  });

  it('the admin bootstrap: created and taken-over, by the operator; unchanged writes nothing', async () => {
    const hash = () => Promise.resolve('operator hash');
    const { service, audit } = setUp([
      user('root', { email: 'root@example.com', role: 'admin' }),
      user('squatter', { email: 'boss@example.com', status: 'pending', emailVerified: false }),
    ]);
    await service.ensureAdmin('root@example.com', hash);
    await service.ensureAdmin('boss@example.com', hash);
    await service.ensureAdmin('new@example.com', hash);
    expect(actions(audit)).toEqual(['admin.bootstrap', 'admin.bootstrap']);
    expect(audit.entries[0]).toEqual({
      action: 'admin.bootstrap',
      actorKind: 'operator',
      subject: 'squatter',
      outcome: 'taken-over',
      role: 'admin',
    });
    expect(audit.entries[1]).toMatchObject({ actorKind: 'operator', outcome: 'created', subject: expect.any(String) });
  });
});
