import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { conflict, tooManyRequests } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { SequentialIds } from '../common/ids.js';
import type { AppConfig, RateRule } from '../config/app-config.js';
import type { CursorCodec } from '../dynamo/cursor.js';
import type { RateCheck, RateLimiter } from '../dynamo/rate-limiter.js';
import type { ReadPart } from '../dynamo/read-parts.js';
import type { TransactionPart } from '../dynamo/transactions.js';
import type { User, UserWithPassword } from '../identity/account.js';
import type { ActionLinksService } from '../identity/action-links/action-links.service.js';
import type { Session, SessionCutoff } from '../identity/sessions/session.entity.js';
import type { SessionsRepository } from '../identity/sessions/sessions.repository.js';
import type { PasswordHasher } from '../users/password-hasher.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { NewUser, UsersService } from '../users/users.service.js';
import type { UserErasureWorkflow } from '../workflows/user-erasure.workflow.js';
import { accountFixture } from '../identity/account.testing.js';
import { AuthService } from './auth.service.js';
import type { TokenService } from './tokens/token.service.js';
import { MemoryAuditLog } from '../logging/audit.js';

const NOW = '2026-05-15T12:00:00.000Z';
const HOUR = 3600_000;
const at = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();

const rule = (name: string, max = 10): RateRule => ({ name, max, windowSeconds: 60 });
const config = {
  auth: {
    pendingAccountTtlHours: 24,
    refreshTokenTtlSeconds: 7 * 24 * 3600,
    sessionMaxAgeSeconds: 30 * 24 * 3600,
    maxSessionsPerUser: 10,
  },
  rateLimits: {
    registerPerIp: rule('register-ip'),
    loginPerIp: rule('login-ip'),
    loginPerAccount: rule('login-account', 5),
    refreshPerSession: rule('refresh-session'),
    passwordCheckPerAccount: rule('password-check'),
    passwordResetPerIp: rule('reset-ip'),
    passwordResetPerEmail: rule('reset-email'),
    verificationPerIp: rule('verify-ip'),
    verificationPerEmail: rule('verify-email'),
  },
} as unknown as AppConfig;

/** An account that has signed in 4 times. */
const account = (id: string, overrides: Partial<UserWithPassword> = {}) =>
  accountFixture(id, { loginCount: 4, ...overrides });

const session = (overrides: Partial<Session> = {}): Session => ({
  id: 's1',
  userId: 'u1',
  createdAt: at(-HOUR),
  lastUsedAt: at(-HOUR),
  expiresAt: at(HOUR),
  refreshTokenHash: 'hash u1.s1.3',
  previousTokenHashes: [],
  generation: 3,
  ...overrides,
});

/**
 * The collaborators faked at their tokens: accounts in a map by email, a hasher whose right password
 * is `right`, refresh tokens of the readable form `<user>.<session>.<generation>`, a limiter whose
 * failure counts a spec sets, and recorders for what is written and sent.
 */
function setUp(accounts: UserWithPassword[] = [], stored?: Session) {
  const byEmail = new Map(accounts.map((a) => [a.email, a]));
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const clock = new SettableClock().set(NOW);
  const firstSessions: TransactionPart[] = [];
  const users = {
    create: jest.fn((input: NewUser, signIn?: (user: User) => TransactionPart) => {
      if (byEmail.has(input.email)) return Promise.reject(conflict(ErrorCode.EmailTaken, 'taken'));
      const created = { ...account('new'), email: input.email, status: 'pending' as const, emailVerified: false };
      if (signIn) firstSessions.push(signIn(created));
      return Promise.resolve(created);
    }),
  };
  const usersRepository = {
    findIdByEmail: jest.fn((email: string) => Promise.resolve(byEmail.get(email)?.id)),
    findIdByEmailWith: jest.fn(<T>(email: string, part: ReadPart<T>) =>
      Promise.resolve([byEmail.get(email)?.id, part.decode([])] as const),
    ),
    findById: jest.fn((id: string) => Promise.resolve(byId.get(id))),
    findWithPassword: jest.fn((id: string) => Promise.resolve(byId.get(id))),
    findForSignIn: jest.fn((id: string) =>
      Promise.resolve({ user: byId.get(id), sessions: { bound: 3, logins: 4, sessionsCounted: true } }),
    ),
    // The cutoff of the password's write: the epoch raised once, the kept session if any.
    setPassword: jest.fn((_id: string, _hash: string, _at: string, _expect: unknown) =>
      Promise.resolve<(SessionCutoff & { reactivated?: true }) | undefined>({ epoch: 1 }),
    ),
    changePassword: jest.fn((_id: string, _hash: string, _at: string, read: { sessionEpoch: number }, keeps: string) =>
      Promise.resolve<SessionCutoff | undefined>({ epoch: read.sessionEpoch + 1, keeps }),
    ),
    endSessions: jest.fn((_id: string) => Promise.resolve<SessionCutoff | undefined>({ epoch: 1 })),
    markEmailVerified: jest.fn((_user: User, _email: string, _at: string) => Promise.resolve(true)),
  };
  const sessions = {
    createPart: jest.fn((s: Session) => `create session ${s.id}`),
    openWithinCap: jest.fn((session: Session, _max: number, _tally: unknown, _cutoff?: SessionCutoff) =>
      Promise.resolve(session),
    ),
    findWithUser: jest.fn((userId: string, sessionId: string, _options?: unknown) =>
      Promise.resolve<{ session?: Session; user?: UserWithPassword }>(
        stored && stored.userId === userId && stored.id === sessionId
          ? { session: stored, user: byId.get(userId) }
          : {},
      ),
    ),
    rotate: jest.fn((_session: Session, _hash: string, _next: { expiresAt: string }) => Promise.resolve(true)),
    revoke: jest.fn((_userId: string, _sessionId: string) => Promise.resolve(true)),
    deleteEnded: jest.fn((_userId: string, _cutoff: SessionCutoff) => Promise.resolve(1)),
    absoluteExpiry: jest.fn((createdAt: string) => new Date(Date.parse(createdAt) + 30 * 24 * HOUR)),
  };
  const actionLinks = {
    requestLink: jest.fn((_kind: string, _to: unknown) => Promise.resolve()),
    linkRequestPart: jest.fn((kind: string, to: User) => `request ${kind} for ${to.id}`),
    consume: jest.fn((_token: string, _kind: string) =>
      Promise.resolve<{ userId: string; email: string; passwordGeneration?: number } | undefined>(undefined),
    ),
    peek: jest.fn((_token: string, _kind: string) => Promise.resolve(undefined)),
  };
  const passwords = {
    hash: jest.fn((password: string) => Promise.resolve(`hash of ${password}`)),
    verify: jest.fn((password: string, _hash: string | undefined) => Promise.resolve(password === 'right')),
  };
  const tokens = {
    accessTokenTtlSeconds: 900,
    newRefreshToken: jest.fn((userId: string, sessionId: string, generation: number) => ({
      token: `${userId}.${sessionId}.${generation}`,
      hash: `hash ${userId}.${sessionId}.${generation}`,
    })),
    parseRefreshToken: jest.fn((token: string) => {
      const [userId, sessionId, generation] = token.split('.');
      return generation === undefined
        ? undefined
        : { userId, sessionId, generation: Number(generation), hash: `hash ${token}` };
    }),
    signAccessToken: jest.fn((claims: { sub: string; sid: string }, expiresIn: number) =>
      Promise.resolve(`access ${claims.sub} ${claims.sid} ${expiresIn}`),
    ),
  };
  /** Failed sign-ins so far: the account's, and from the caller's IP. */
  const failures = { account: 0, fromIp: 0 };
  const limiter = {
    consume: jest.fn((_checks: RateCheck[], _code?: ErrorCode) => Promise.resolve()),
    peekPart: jest.fn((checks: RateCheck[]) => ({
      keys: [],
      decode: () =>
        [
          { count: failures.account, retryAfter: 30 },
          { count: failures.fromIp, retryAfter: 30 },
        ].slice(0, checks.length),
    })),
    add: jest.fn((_check: RateCheck) => Promise.resolve({ count: 1, retryAfter: 30 })),
    tryTake: jest.fn((_check: RateCheck, _count: number) => Promise.resolve(failures.account < 5)),
    reset: jest.fn((_check: RateCheck) => Promise.resolve()),
    refusal: (code: ErrorCode, retryAfter: number) => tooManyRequests(code, 'slow down', retryAfter),
  };
  const erasure = {
    replacePendingAccount: jest.fn((holder: User, _options?: { evenIfAuthored?: boolean }) => {
      byEmail.delete(holder.email);
      return Promise.resolve(true);
    }),
  };
  const audit = new MemoryAuditLog();
  const service = new AuthService(
    users as unknown as UsersService,
    usersRepository as unknown as UsersRepository,
    sessions as unknown as SessionsRepository,
    actionLinks as unknown as ActionLinksService,
    passwords as unknown as PasswordHasher,
    tokens as unknown as TokenService,
    limiter as unknown as RateLimiter,
    {} as CursorCodec,
    config,
    clock,
    erasure as unknown as UserErasureWorkflow,
    new SequentialIds('sess'),
    audit,
  );
  return {
    audit,
    service,
    clock,
    users,
    usersRepository,
    sessions,
    actionLinks,
    tokens,
    limiter,
    failures,
    erasure,
    firstSessions,
    passwords,
  };
}

const client = { ip: '203.0.113.9', userAgent: 'spec' };
const register = { email: 'new@example.com', password: 'right-password' };

describe('AuthService.register', () => {
  it('creates the account with its first session and its verification link request in the same write', async () => {
    const { service, limiter, users, sessions, actionLinks, firstSessions } = setUp();
    const issued = await service.register(register, client);
    expect(limiter.consume.mock.calls[0][0]).toEqual([{ rule: config.rateLimits.registerPerIp, subject: client.ip }]);
    expect(users.create.mock.calls[0][0]).toMatchObject({
      email: 'new@example.com',
      passwordHash: 'hash of right-password',
    });
    expect(firstSessions).toEqual([['create session sess00000000000000001', 'request email_verification for new']]);
    expect(sessions.createPart.mock.calls[0][0]).toMatchObject({
      id: 'sess00000000000000001',
      userId: 'new',
      ip: client.ip,
      createdAt: NOW,
      // The shorter of the refresh token's lifetime and the session's maximum age.
      expiresAt: at(7 * 24 * HOUR),
      refreshTokenHash: 'hash new.sess00000000000000001.0',
      generation: 0,
    });
    expect(actionLinks.linkRequestPart.mock.calls).toEqual([['email_verification', issued.user]]);
    expect(actionLinks.requestLink).not.toHaveBeenCalled();
    expect(issued).toMatchObject({
      accessToken: 'access new sess00000000000000001 900',
      refreshToken: 'new.sess00000000000000001.0',
      expiresIn: 900,
    });
  });

  it('a session-long token (Conduit) lives until the session expires', async () => {
    const { service } = setUp();
    expect((await service.register(register, client, 'session')).expiresIn).toBe(7 * 24 * 3600);
  });

  it('an email held by a verified or active account is 409 email_taken, nothing erased', async () => {
    const { service, erasure } = setUp([account('holder', { email: 'new@example.com' })]);
    expect(await refusalOf(() => service.register(register, client))).toBe('409 email_taken');
    expect(erasure.replacePendingAccount).not.toHaveBeenCalled();
  });

  it("a stale unverified account (older than the TTL on the app's clock) is replaced; a fresh one is not", async () => {
    const pending = account('holder', {
      email: 'new@example.com',
      status: 'pending',
      emailVerified: false,
      createdAt: at(-23 * HOUR),
    });
    const { service, clock, erasure, users } = setUp([pending]);
    expect(await refusalOf(() => service.register(register, client))).toBe('409 email_taken');
    expect(erasure.replacePendingAccount).not.toHaveBeenCalled();

    // Two hours later it is 25 hours old: erased, and the registration tried again.
    clock.advance(2 * HOUR);
    expect(await refusalOf(() => service.register(register, client))).toBe('allowed');
    expect(erasure.replacePendingAccount.mock.calls).toEqual([[pending, { evenIfAuthored: false }]]);
    expect(users.create).toHaveBeenCalledTimes(3);
  });

  it('a stale unverified account its owner deactivated is replaced even if it authored something; one an admin deactivated is not (review 22a M2)', async () => {
    const stale = {
      email: 'new@example.com',
      status: 'inactive' as const,
      emailVerified: false,
      createdAt: at(-48 * HOUR),
    };
    const abandoned = account('holder', { ...stale, deactivatedBy: 'owner' });
    const owner = setUp([abandoned]);
    expect(await refusalOf(() => owner.service.register(register, client))).toBe('allowed');
    expect(owner.erasure.replacePendingAccount.mock.calls).toEqual([[abandoned, { evenIfAuthored: true }]]);

    for (const deactivatedBy of ['admin', undefined] as const) {
      const { service, erasure } = setUp([account('holder', { ...stale, deactivatedBy })]);
      expect(await refusalOf(() => service.register(register, client))).toBe('409 email_taken');
      expect(erasure.replacePendingAccount).not.toHaveBeenCalled();
    }
  });

  it('a stale unverified staff account (a pending moderator or admin) is never replaced (review 22a)', async () => {
    for (const role of ['moderator', 'admin'] as const) {
      const staff = account('holder', {
        email: 'new@example.com',
        role,
        status: 'pending',
        emailVerified: false,
        createdAt: at(-48 * HOUR),
      });
      const { service, erasure } = setUp([staff]);
      expect(await refusalOf(() => service.register(register, client))).toBe('409 email_taken');
      expect(erasure.replacePendingAccount).not.toHaveBeenCalled();
    }
  });

  it('a stale unverified account whose erasure is in progress is not replaced (review 17a L1)', async () => {
    // The erasure suspended it (and marked it) before walking its content: no longer `pending`.
    const erasing = account('holder', {
      email: 'new@example.com',
      status: 'suspended',
      emailVerified: false,
      createdAt: at(-48 * HOUR),
      erasureRequestedAt: at(-HOUR),
    });
    const { service, erasure } = setUp([erasing]);
    expect(await refusalOf(() => service.register(register, client))).toBe('409 email_taken');
    expect(erasure.replacePendingAccount).not.toHaveBeenCalled();
  });
});

describe('AuthService.login', () => {
  it('a wrong password and an unknown email: the same 401, the same reads, each failure counted', async () => {
    const { service, usersRepository, limiter, sessions } = setUp([account('u1')]);
    expect(await refusalOf(() => service.login('u1@example.com', 'wrong', client))).toBe('401 invalid_credentials');
    expect(await refusalOf(() => service.login('nobody@example.com', 'right', client))).toBe('401 invalid_credentials');
    // An unknown email still reads a user item (one no id can name), so both cost the same calls.
    expect(usersRepository.findForSignIn.mock.calls).toEqual([['u1'], ['~no-such-user~']]);
    expect(limiter.add).toHaveBeenCalledTimes(4);
    expect(sessions.openWithinCap).not.toHaveBeenCalled();
  });

  it('with failures on record the guess is taken before the password check (review 22a M4); with none, nothing is', async () => {
    const { service, failures, limiter, passwords } = setUp([account('u1')]);
    expect(await refusalOf(() => service.login('u1@example.com', 'right', client))).toBe('allowed');
    expect(limiter.tryTake).not.toHaveBeenCalled();
    expect(limiter.add).not.toHaveBeenCalled();
    failures.account = 2;
    expect(await refusalOf(() => service.login('u1@example.com', 'wrong', client))).toBe('401 invalid_credentials');
    // A failure slot and the address's counter, taken first; nothing more on the wrong password.
    expect(limiter.tryTake).toHaveBeenCalledTimes(1);
    expect(limiter.add).toHaveBeenCalledTimes(1);
    // Past the trip, an address whose counter comes back above 1 already had its guess: no check.
    failures.account = 5;
    limiter.add.mockResolvedValueOnce({ count: 2, retryAfter: 30 });
    passwords.verify.mockClear();
    expect(await refusalOf(() => service.login('u1@example.com', 'right', client))).toBe('429 too_many_login_attempts');
    expect(passwords.verify).not.toHaveBeenCalled();
    expect(limiter.tryTake).toHaveBeenCalledTimes(1);
  });

  it('once the account has too many failures, only IPs that failed get 429; another IP signs in', async () => {
    const { service, failures, limiter } = setUp([account('u1')]);
    failures.account = 5;
    failures.fromIp = 1;
    expect(await refusalOf(() => service.login('u1@example.com', 'right', client))).toBe('429 too_many_login_attempts');
    failures.fromIp = 0;
    expect(await refusalOf(() => service.login('u1@example.com', 'right', client))).toBe('allowed');
    // The failures it had are cleared by the sign-in.
    expect(limiter.reset).toHaveBeenCalled();
  });

  it('a suspended or deactivated account is refused with its own 403, after the password check', async () => {
    const { service, sessions } = setUp([account('s', { status: 'suspended' }), account('i', { status: 'inactive' })]);
    expect(await refusalOf(() => service.login('s@example.com', 'right', client))).toBe('403 account_suspended');
    expect(await refusalOf(() => service.login('i@example.com', 'right', client))).toBe('403 account_inactive');
    expect(await refusalOf(() => service.login('s@example.com', 'wrong', client))).toBe('401 invalid_credentials');
    expect(sessions.openWithinCap).not.toHaveBeenCalled();
  });

  it('an account suspended for an erasure that did not finish may sign in, to retry it (review 17a L1)', async () => {
    const { service, sessions } = setUp([
      account('e', { status: 'suspended', erasureRequestedAt: at(-HOUR), erasureSignIn: true }),
      account('i', { status: 'inactive', erasureRequestedAt: at(-HOUR) }),
      // Review 18d M1: suspended by an admin before the erase marked it: stays shut.
      account('s', { status: 'suspended', erasureRequestedAt: at(-HOUR) }),
    ]);
    expect(await refusalOf(() => service.login('s@example.com', 'right', client))).toBe('403 account_suspended');
    expect(await refusalOf(() => service.login('e@example.com', 'right', client))).toBe('allowed');
    expect(sessions.openWithinCap).toHaveBeenCalledTimes(1);
    expect(await refusalOf(() => service.login('e@example.com', 'wrong', client))).toBe('401 invalid_credentials');
    // A deactivated account stays shut: its erasure is the operator's (users:finish-erasures).
    expect(await refusalOf(() => service.login('i@example.com', 'right', client))).toBe('403 account_inactive');
  });

  it('opens the session within the cap with the tally read with the user, clears nothing needlessly', async () => {
    const { service, sessions, limiter } = setUp([account('u1')]);
    const issued = await service.login('u1@example.com', 'right', client);
    expect(sessions.openWithinCap.mock.calls).toEqual([
      [
        expect.objectContaining({ id: 'sess00000000000000001', userId: 'u1', createdAt: NOW }),
        10,
        { bound: 3, logins: 4, sessionsCounted: true },
        { epoch: 0, keeps: undefined },
      ],
    ]);
    expect(sessions.openWithinCap.mock.calls[0][0]).not.toHaveProperty('sessionEpoch');
    expect(limiter.reset).not.toHaveBeenCalled();
    expect(issued.user).toMatchObject({ lastLoginAt: NOW, loginCount: 5 });
    expect(issued.user).not.toHaveProperty('passwordHash');
  });
});

describe('AuthService: sessions end with one write of the user item', () => {
  it('a sign-in records the epoch it read with the password, and counts the cap by that cutoff', async () => {
    const { service, sessions } = setUp([account('u1', { sessionEpoch: 3, sessionEpochKeeps: 'kept' })]);
    await service.login('u1@example.com', 'right', client);
    const [written, , , cutoff] = sessions.openWithinCap.mock.calls[0];
    // A raise that commits before this session does ends it too.
    expect(written.sessionEpoch).toBe(3);
    expect(cutoff).toEqual({ epoch: 3, keeps: 'kept' });
  });

  it('sign-out everywhere raises the epoch, then cleans up by its cutoff; a gone account cleans nothing', async () => {
    const { service, usersRepository, sessions } = setUp([account('u1')]);
    await service.logoutAll('u1');
    expect(usersRepository.endSessions.mock.calls).toEqual([['u1']]);
    expect(sessions.deleteEnded.mock.calls).toEqual([['u1', { epoch: 1 }]]);
    usersRepository.endSessions.mockResolvedValueOnce(undefined);
    await service.logoutAll('gone');
    expect(sessions.deleteEnded).toHaveBeenCalledTimes(1);
  });
});

describe('AuthService.refresh', () => {
  it('rotates the current token: the next generation, expiring at the sliding window', async () => {
    const { service, sessions } = setUp([account('u1')], session());
    const issued = await service.refresh('u1.s1.3');
    expect(issued.refreshToken).toBe('u1.s1.4');
    expect(sessions.rotate.mock.calls).toEqual([
      [session(), 'hash u1.s1.3', { hash: 'hash u1.s1.4', expiresAt: at(7 * 24 * HOUR), usedAt: NOW, generation: 4 }],
    ]);
  });

  it('never past the session’s absolute maximum age', async () => {
    const old = session({ createdAt: at(-29 * 24 * HOUR) });
    const { service, sessions } = setUp([account('u1')], old);
    await service.refresh('u1.s1.3');
    expect(sessions.rotate.mock.calls[0][2].expiresAt).toBe(at(24 * HOUR));
  });

  it('a token of an earlier generation is reuse: the session is revoked, 401 refresh_token_reused', async () => {
    const { service, sessions } = setUp([account('u1')], session());
    expect(await refusalOf(() => service.refresh('u1.s1.2'))).toBe('401 refresh_token_reused');
    expect(sessions.revoke.mock.calls).toEqual([['u1', 's1']]);
    expect(sessions.rotate).not.toHaveBeenCalled();
  });

  it('losing the rotation to a concurrent refresh with the same token is reuse too', async () => {
    const { service, sessions } = setUp([account('u1')], session());
    sessions.rotate.mockResolvedValueOnce(false);
    expect(await refusalOf(() => service.refresh('u1.s1.3'))).toBe('401 refresh_token_reused');
    expect(sessions.revoke.mock.calls).toEqual([['u1', 's1']]);
  });

  it('a malformed token, an unknown session or a later generation: 401 invalid_refresh_token, nothing revoked', async () => {
    const { service, sessions } = setUp([account('u1')], session());
    for (const token of ['garbage', 'u1.other.3', 'u1.s1.9'])
      expect(await refusalOf(() => service.refresh(token))).toBe('401 invalid_refresh_token');
    expect(sessions.revoke).not.toHaveBeenCalled();
  });

  it('a suspended account cannot refresh; one suspended for an erasure that did not finish can (review 17a L1)', async () => {
    const { service } = setUp([account('u1', { status: 'suspended' })], session());
    expect(await refusalOf(() => service.refresh('u1.s1.3'))).toBe('403 account_suspended');
    const marked = setUp([account('u1', { status: 'suspended', erasureRequestedAt: at(-HOUR) })], session());
    expect(await refusalOf(() => marked.service.refresh('u1.s1.3'))).toBe('403 account_suspended');
    const erasing = setUp(
      [account('u1', { status: 'suspended', erasureRequestedAt: at(-HOUR), erasureSignIn: true })],
      session(),
    );
    expect(await refusalOf(() => erasing.service.refresh('u1.s1.3'))).toBe('allowed');
  });
});

describe('AuthService: passwords and links', () => {
  it('changePassword: a wrong current password is 403 wrong_password; a right one signs out every other session', async () => {
    const { service, usersRepository, sessions } = setUp(
      [account('u1', { passwordGeneration: 4, sessionEpoch: 2 })],
      session({ sessionEpoch: 2 }),
    );
    expect(await refusalOf(() => service.changePassword('u1', 's1', 'wrong', 'next-password'))).toBe(
      '403 wrong_password',
    );
    expect(usersRepository.changePassword).not.toHaveBeenCalled();
    await service.changePassword('u1', 's1', 'right', 'next-password');
    // One write, conditioned on what the read found with the caller's live session, sets the
    // password and ends every session but the caller's; the deletes are clean-up.
    expect(sessions.findWithUser.mock.calls.at(-1)).toEqual(['u1', 's1']);
    expect(usersRepository.changePassword.mock.calls).toEqual([
      ['u1', 'hash of next-password', NOW, { passwordGeneration: 4, sessionEpoch: 2 }, 's1'],
    ]);
    expect(sessions.deleteEnded.mock.calls).toEqual([['u1', { epoch: 3, keeps: 's1' }]]);
  });

  it('changePassword refuses a caller whose session has ended, and answers a lost condition without a 500', async () => {
    // The session ended (or the account is gone) before the read: nothing is checked or written.
    const ended = setUp([account('u1')]);
    ended.sessions.findWithUser.mockResolvedValueOnce({ user: account('u1', { sessionEpoch: 1 }) });
    expect(await refusalOf(() => ended.service.changePassword('u1', 's1', 'right', 'next-password'))).toBe(
      '401 session_revoked',
    );
    expect(await refusalOf(() => ended.service.changePassword('gone', 's1', 'right', 'next-password'))).toBe(
      '401 session_revoked',
    );
    expect(ended.passwords.verify).not.toHaveBeenCalled();
    expect(ended.usersRepository.changePassword).not.toHaveBeenCalled();

    // The write's condition lost to a raise that ended the caller's session: 401, no clean-up.
    const raced = setUp([account('u1')], session());
    raced.usersRepository.changePassword.mockResolvedValueOnce(undefined);
    raced.sessions.findWithUser
      .mockResolvedValueOnce({ session: session(), user: account('u1') })
      .mockResolvedValueOnce({ user: account('u1', { sessionEpoch: 1 }) });
    expect(await refusalOf(() => raced.service.changePassword('u1', 's1', 'right', 'next-password'))).toBe(
      '401 session_revoked',
    );
    // ... to another change from this same session, which kept it: the password given is no longer current.
    raced.usersRepository.changePassword.mockResolvedValueOnce(undefined);
    expect(await refusalOf(() => raced.service.changePassword('u1', 's1', 'right', 'next-password'))).toBe(
      '403 wrong_password',
    );
    expect(raced.sessions.deleteEnded).not.toHaveBeenCalled();
  });

  it('a reset request asks for a link only for an account that exists and is not deactivated, and writes a stand-in otherwise', async () => {
    const { service, actionLinks } = setUp([account('u1'), account('gone', { status: 'inactive' })]);
    await service.requestPasswordReset('nobody@example.com', client);
    await service.requestPasswordReset('gone@example.com', client);
    await service.requestPasswordReset('u1@example.com', client);
    expect(actionLinks.requestLink.mock.calls.map(([kind, to]) => [kind, (to as User | undefined)?.id])).toEqual([
      ['password_reset', undefined],
      ['password_reset', undefined],
      ['password_reset', 'u1'],
    ]);
  });

  it("past the address's budget a link request is answered as any other, with a stand-in (no mail), not 429; the sender's budget still refuses (review 22a L4)", async () => {
    const { service, actionLinks, limiter } = setUp([account('u1')]);
    limiter.tryTake.mockResolvedValueOnce(false).mockResolvedValueOnce(false);
    await service.requestPasswordReset('u1@example.com', client);
    await service.requestEmailVerification('u1@example.com', client);
    expect(actionLinks.requestLink.mock.calls.map(([kind, to]) => [kind, (to as User | undefined)?.id])).toEqual([
      ['password_reset', undefined],
      ['email_verification', undefined],
    ]);
    expect(limiter.tryTake.mock.calls).toEqual([
      [{ rule: config.rateLimits.passwordResetPerEmail, subject: 'u1@example.com' }, 1],
      [{ rule: config.rateLimits.verificationPerEmail, subject: 'u1@example.com' }, 1],
    ]);
    expect(limiter.consume.mock.calls).toEqual([
      [[{ rule: config.rateLimits.passwordResetPerIp, subject: client.ip }]],
      [[{ rule: config.rateLimits.verificationPerIp, subject: client.ip }]],
    ]);
  });

  it('a reset confirmation: an unusable link or a changed account is 400; a good one revokes every session', async () => {
    const { service, actionLinks, usersRepository, sessions, limiter } = setUp([account('u1')]);
    expect(await refusalOf(() => service.confirmPasswordReset('t', 'next-password', client))).toBe(
      '400 invalid_or_expired_token',
    );
    const link = { userId: 'u1', email: 'u1@example.com', passwordGeneration: 2 };
    actionLinks.consume.mockResolvedValue(link);
    usersRepository.setPassword.mockResolvedValueOnce(undefined);
    expect(await refusalOf(() => service.confirmPasswordReset('t', 'next-password', client))).toBe(
      '400 invalid_or_expired_token',
    );
    expect(sessions.deleteEnded).not.toHaveBeenCalled();
    await service.confirmPasswordReset('t', 'next-password', client);
    expect(usersRepository.setPassword.mock.calls[1]).toEqual([
      'u1',
      'hash of next-password',
      NOW,
      { email: 'u1@example.com', passwordGeneration: 2 },
    ]);
    expect(sessions.deleteEnded.mock.calls).toEqual([['u1', { epoch: 1 }]]);
    // The owner proved the mailbox: the account's failed sign-ins are cleared.
    expect(limiter.reset.mock.calls.map(([check]) => check.subject)).toEqual(['u1@example.com']);
  });

  it("every use of a mailed link's token counts against the client IP's limit first, as too_many_link_attempts", async () => {
    const { service, limiter } = setUp([account('u1')]);
    // Unknown tokens: each is 400 after it counted.
    expect(await refusalOf(() => service.confirmPasswordReset('t', 'next-password', client))).toBe(
      '400 invalid_or_expired_token',
    );
    expect(await refusalOf(() => service.confirmEmailVerification('t', client))).toBe('400 invalid_or_expired_token');
    expect(await refusalOf(() => service.revertEmailChange('t', client))).toBe('400 invalid_or_expired_token');
    const linkLimit = [{ rule: config.rateLimits.linkRedeemPerIp, subject: client.ip }];
    expect(limiter.consume.mock.calls).toEqual([
      [linkLimit, 'too_many_link_attempts'],
      [linkLimit, 'too_many_link_attempts'],
      [linkLimit, 'too_many_link_attempts'],
    ]);
  });

  it('revoking a session the caller does not have is 404 session_not_found', async () => {
    const { service, sessions } = setUp();
    sessions.revoke.mockResolvedValueOnce(false);
    expect(await refusalOf(() => service.revokeSession('u1', 'other'))).toBe('404 session_not_found');
  });
});

describe('AuthService: audit lines (src/logging/audit.ts), written once the write succeeded', () => {
  it('a sign-in names its session; a failed one writes none (its access line and the lockout count it)', async () => {
    const { service, audit } = setUp([account('u1'), account('u2', { status: 'suspended' })]);
    await refusalOf(() => service.login('u1@example.com', 'wrong', client));
    await refusalOf(() => service.login('u2@example.com', 'right', client));
    expect(audit.entries).toEqual([]);
    await service.login('u1@example.com', 'right', client);
    expect(audit.entries).toEqual([
      { action: 'auth.sign_in', actor: 'u1', actorKind: 'self', subject: 'u1', sessionId: 'sess00000000000000001' },
    ]);
  });

  it('session revocations (one, by id, all); nothing for a session not found or an account gone', async () => {
    const { service, audit, sessions, usersRepository } = setUp([account('u1')]);
    await service.logout('u1', 's1');
    await service.revokeSession('u1', 's2');
    await service.logoutAll('u1');
    sessions.revoke.mockResolvedValueOnce(false).mockResolvedValueOnce(false);
    await service.logout('u1', 's9');
    await refusalOf(() => service.revokeSession('u1', 's9'));
    usersRepository.endSessions.mockResolvedValueOnce(undefined);
    await service.logoutAll('gone');
    expect(audit.entries).toEqual([
      { action: 'auth.sign_out', actor: 'u1', actorKind: 'self', subject: 'u1', sessionId: 's1' },
      { action: 'auth.session_revoked', actor: 'u1', actorKind: 'self', subject: 'u1', sessionId: 's2' },
      { action: 'auth.sessions_revoked', actor: 'u1', actorKind: 'self', subject: 'u1' },
    ]);
  });

  it('a password change and a reset; a wrong password or a dead link none', async () => {
    const { service, audit, actionLinks } = setUp(
      [account('u1', { passwordGeneration: 4, sessionEpoch: 2 })],
      session({ sessionEpoch: 2 }),
    );
    await refusalOf(() => service.changePassword('u1', 's1', 'wrong', 'next-password'));
    await refusalOf(() => service.confirmPasswordReset('t', 'next-password', client));
    expect(audit.entries).toEqual([]);
    await service.changePassword('u1', 's1', 'right', 'next-password');
    actionLinks.consume.mockResolvedValue({ userId: 'u1', email: 'u1@example.com', passwordGeneration: 5 });
    await service.confirmPasswordReset('t', 'next-password', client);
    expect(audit.entries).toEqual([
      { action: 'auth.password_changed', actor: 'u1', actorKind: 'self', subject: 'u1', sessionId: 's1' },
      { action: 'auth.password_reset', actor: 'u1', actorKind: 'link', subject: 'u1' },
    ]);
  });

  it('a reset that reactivated the account, and a verification of a pending one, say so: status active (review 23 L-2)', async () => {
    const { service, audit, actionLinks, usersRepository } = setUp([
      account('u1'),
      account('u2', { status: 'pending' }),
    ]);
    actionLinks.consume
      .mockResolvedValueOnce({ userId: 'u1', email: 'u1@example.com', passwordGeneration: 0 })
      .mockResolvedValueOnce({ userId: 'u2', email: 'u2@example.com', passwordGeneration: 0 });
    usersRepository.setPassword.mockResolvedValueOnce({ epoch: 1, reactivated: true });
    await service.confirmPasswordReset('t', 'next-password', client);
    await service.confirmEmailVerification('v', client);
    expect(audit.entries).toEqual([
      { action: 'auth.password_reset', actor: 'u1', actorKind: 'link', subject: 'u1', status: 'active' },
      { action: 'user.email_verified', actor: 'u2', actorKind: 'link', subject: 'u2', status: 'active' },
    ]);
  });
});
