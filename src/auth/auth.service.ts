import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { badRequest, DomainError, forbidden, notFound, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { clientSubject } from '../common/network/client-subject.js';
import { storableHeaderText } from '../common/validation/identifiers.js';
import type { AppConfig, RateRule } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { normalizeEmail } from '../dynamo/keys.js';
import type { Page } from '../dynamo/pagination.js';
import { type RateCheck, RateLimiter } from '../dynamo/rate-limiter.js';
import { isErasurePending, isSelfRecoverable, isStaff, type User, type UserWithPassword } from '../identity/account.js';
import { UserErasureWorkflow } from '../workflows/user-erasure.workflow.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import type { RegisterDto } from '../users/dto/register.dto.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { cutoffOf, type Session, type SessionCutoff } from '../identity/sessions/session.entity.js';
import { AccountErasedDuringSignIn, SessionsRepository } from '../identity/sessions/sessions.repository.js';
import { ActionLinksService } from '../identity/action-links/action-links.service.js';
import { type AuditAction, AUDIT_LOG, type AuditLog } from '../logging/audit.js';
import { TokenService } from './tokens/token.service.js';

/** Where a sign-in comes from, kept on the session so users can tell their devices apart. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/**
 * How long the access token of a sign-in lives: the configured short lifetime (clients refresh),
 * or as long as the session (Conduit clients have no refresh: docs/conduit.md).
 */
export type AccessTokenLifetime = 'access' | 'session';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: User;
}

/**
 * Looked up in place of the user item when an email is unknown, so that a sign-in or a link
 * request costs the same DynamoDB calls for known and unknown emails. No id has this form.
 */
const NO_SUCH_USER_ID = '~no-such-user~';

const withoutPassword = ({ passwordHash: _hash, ...user }: UserWithPassword): User => user;
const invalidLink = () => badRequest(ErrorCode.InvalidActionToken, 'The link is invalid, used or expired.');
// The guard's answer for an ended session (src/auth/access-token.verifier.ts).
const sessionEnded = () => unauthorized(ErrorCode.SessionRevoked, 'The session has ended; sign in again.');
const reused = () =>
  unauthorized(ErrorCode.RefreshTokenReused, 'This refresh token was already used; the session is revoked.');

/** A sign-in's failure counters: the account's, the account's from this address, from its /48 (IPv6). */
interface LoginFailureChecks {
  account: RateCheck;
  fromIp: RateCheck;
  fromSite?: RateCheck;
  all: RateCheck[];
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger('AuthService');

  constructor(
    private readonly users: UsersService,
    private readonly usersRepository: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly actionLinks: ActionLinksService,
    private readonly passwords: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly limiter: RateLimiter,
    private readonly cursors: CursorCodec,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly erasure: UserErasureWorkflow,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
  ) {}

  /**
   * Creates the account, its first session and the request of its verification link in one
   * transaction. A stale unverified account
   * holding the email is replaced (see `replaceStalePendingAccount`); any other holder is 409.
   */
  async register(
    dto: RegisterDto,
    client: ClientInfo,
    lifetime: AccessTokenLifetime = 'access',
  ): Promise<IssuedTokens> {
    await this.limiter.consume([{ rule: this.config.rateLimits.registerPerIp, subject: ipOf(client) }]);
    const { email, username, firstName, lastName } = dto;
    const hash = await this.passwords.hash(dto.password);
    let issued: { session: Session; refreshToken: string } | undefined;
    const create = () =>
      this.users.create({ email, username, firstName, lastName, passwordHash: hash }, (created) => {
        issued = this.newSession(created.id, client);
        // The verification link's request commits with the account (one call fewer, and no
        // account is left without its link); the processor mints and mails the link.
        return [
          this.sessions.createPart(issued.session),
          this.actionLinks.linkRequestPart('email_verification', created),
        ];
      });
    let user: User;
    try {
      user = await create();
    } catch (error) {
      const emailTaken = error instanceof DomainError && error.code === ErrorCode.EmailTaken;
      if (!emailTaken || !(await this.replaceStalePendingAccount(email))) throw error;
      user = await create();
    }
    return this.issue(user, issued!.session, issued!.refreshToken, lifetime);
  }

  /**
   * An account that never verified its email, is older than PENDING_ACCOUNT_TTL_HOURS and has
   * published nothing does not keep its email: it is erased (sessions, profile, username and
   * email released) so the new registration can take the address. So is one its owner
   * deactivated without ever verifying it (review 22a M2), even with content, which stays
   * credited to `deleted-user` as after any erase: nobody can sign in to it, and the address's
   * holder cannot recover it by reset (only a verified one is self-recoverable, review 23 L-3:
   * the address may be a typo or a stranger's), so it would otherwise hold the address for good. Staff (a pending moderator or admin) are never
   * erased this way. True when the email is free.
   */
  private async replaceStalePendingAccount(email: string): Promise<boolean> {
    const userId = await this.usersRepository.findIdByEmail(email);
    if (!userId) return true;
    const holder = await this.usersRepository.findById(userId);
    if (!holder || holder.emailVerified || isStaff(holder)) return false;
    const abandoned = holder.status === 'inactive' && holder.deactivatedBy === 'owner';
    if (holder.status !== 'pending' && !abandoned) return false;
    const cutoff = this.clock.now().getTime() - this.config.auth.pendingAccountTtlHours * 3600 * 1000;
    if (Date.parse(holder.createdAt) > cutoff) return false;
    if (!(await this.erasure.replacePendingAccount(holder, { evenIfAuthored: abandoned }))) return false;
    this.logger.warn(`A stale unverified account (${holder.id}) was replaced by a new registration of its email`);
    return true;
  }

  /**
   * Sign-in. The per-IP limit counts every attempt; the per-account limit counts failures only,
   * and once it trips the account answers 429 only to the IPs that failed, so spraying wrong
   * passwords cannot lock the owner out (docs/architecture.md). Known and unknown emails cost
   * the same DynamoDB calls and bcrypt work, and get the same 401 invalid_credentials.
   */
  async login(
    email: string,
    password: string,
    client: ClientInfo,
    lifetime: AccessTokenLifetime = 'access',
  ): Promise<IssuedTokens> {
    const { loginPerIp } = this.config.rateLimits;
    await this.limiter.consume([{ rule: loginPerIp, subject: ipOf(client) }], ErrorCode.TooManyLoginAttempts);
    const failureChecks = this.loginFailureChecks(email, client);
    const { account, fromSite, all: checks } = failureChecks;
    const counted = account.rule.max > 0;
    // The failure counters come with the email item: one BatchGetItem, whatever the counts say.
    const [userId, [failures, failuresFromIp, failuresFromSite] = []] = await this.usersRepository.findIdByEmailWith(
      email,
      this.limiter.peekPart(counted ? checks : []),
    );
    const failed = counted && [failures, failuresFromIp, failuresFromSite].some((window) => (window?.count ?? 0) > 0);
    // A tripped account refuses the address that failed on it, and an IPv6 /48 whose /64s together
    // failed many times: a /48 is 65,536 /64s, each with a guess past the trip (review 20b M1), but
    // also a carrier's or a campus's network the owner may share (review 20c L1).
    const refused =
      counted &&
      failures.count >= account.rule.max &&
      (failuresFromIp.count > 0 || (fromSite !== undefined && failuresFromSite.count >= fromSite.rule.max));
    if (refused) {
      throw this.limiter.refusal(ErrorCode.TooManyLoginAttempts, failures.retryAfter);
    }
    // With failures on record the guess is taken before the password check, atomically: parallel
    // guesses all passed the read above (review 22a M4). A sign-in with none on record, the common
    // case, takes nothing and counts its failure after the check, as before.
    const countOnFailure = failed
      ? await this.takeLoginGuess(failureChecks, failures.count >= account.rule.max, failures.retryAfter)
      : checks;
    // The placeholder's read when the email is unknown (same calls); with the user, the bound on
    // their live sessions that spares the session cap's Query below the cap.
    const found = await this.usersRepository.findForSignIn(userId ?? NO_SUCH_USER_ID);
    // Only the account whose email this is now: an email item left behind by a change (a stale
    // claim) must not sign in to an account that moved away from the address.
    const user = userId && found.user?.email === normalizeEmail(email) ? found.user : undefined;
    const valid = await this.passwords.verify(password, user?.passwordHash);
    if (!user || !valid) {
      if (counted) await Promise.all(countOnFailure.map((check) => this.limiter.add(check)));
      throw unauthorized(ErrorCode.InvalidCredentials, 'The email or password is wrong.');
    }
    this.assertMaySignIn(user);
    // Counters that the peek found empty need no delete (2 WCU saved on most sign-ins).
    if (failed) await this.clearLoginFailures(email, client);

    // The session records the epoch read with the password: a sign-out everywhere or password
    // change that commits before this session does ends it too.
    const cutoff = cutoffOf(user);
    const { session: fresh, refreshToken } = this.newSession(user.id, client, cutoff.epoch);
    // Stamped anew when it lost races for the session cap (review 15a L3).
    let session: Session;
    try {
      session = await this.sessions.openWithinCap(fresh, this.config.auth.maxSessionsPerUser, found.sessions, cutoff);
    } catch (error) {
      // Erased after its password was checked: now an unknown email, and nothing was written.
      if (error instanceof AccountErasedDuringSignIn) {
        throw unauthorized(ErrorCode.InvalidCredentials, 'The email or password is wrong.');
      }
      throw error;
    }
    this.audit.record({
      action: 'auth.sign_in',
      actor: user.id,
      actorKind: 'self',
      subject: user.id,
      sessionId: session.id,
    });
    return this.issue(
      { ...withoutPassword(user), lastLoginAt: session.createdAt, loginCount: user.loginCount + 1 },
      session,
      refreshToken,
      lifetime,
    );
  }

  /**
   * Exchanges a refresh token for a new pair. The rotation is one conditional write, so only
   * one of any number of concurrent refreshes with a token wins. A token of an earlier
   * generation (the generation is in the token, under the server's MAC) is reuse, however old:
   * a stolen token or a client bug, and the whole session is revoked.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const invalid = () => unauthorized(ErrorCode.InvalidRefreshToken, 'The refresh token is invalid or expired.');
    const parsed = this.tokens.parseRefreshToken(refreshToken);
    if (!parsed) throw invalid();
    const { session, user } = await this.sessions.findWithUser(parsed.userId, parsed.sessionId, { withSignIns: true });
    if (!session || !user) throw invalid();
    const generation = session.generation ?? 0;
    if (session.refreshTokenHash !== parsed.hash) {
      const earlier =
        parsed.generation !== undefined
          ? parsed.generation < generation
          : session.previousTokenHashes?.includes(parsed.hash);
      if (earlier) {
        await this.sessions.revoke(session.userId, session.id);
        throw reused();
      }
      throw invalid();
    }
    this.assertMaySignIn(user);
    // Counted only for the session's current token, so nobody can spend another session's budget.
    await this.limiter.consume([{ rule: this.config.rateLimits.refreshPerSession, subject: session.id }]);

    const now = this.clock.now();
    const next = this.tokens.newRefreshToken(session.userId, session.id, generation + 1);
    const expiresAt = new Date(
      Math.min(
        now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000,
        this.sessions.absoluteExpiry(session.createdAt).getTime(),
      ),
    ).toISOString();
    const rotated = await this.sessions.rotate(session, parsed.hash, {
      hash: next.hash,
      expiresAt,
      usedAt: now.toISOString(),
      generation: generation + 1,
    });
    if (!rotated) {
      // Another request rotated this token first: the same token was presented twice.
      await this.sessions.revoke(session.userId, session.id);
      throw reused();
    }
    return this.issue(withoutPassword(user), { ...session, expiresAt }, next.token);
  }

  async logout(userId: string, sessionId: string): Promise<void> {
    if (await this.sessions.revoke(userId, sessionId)) this.auditSelf('auth.sign_out', userId, sessionId);
  }

  /** One write of the user item ends every session; deleting their items is clean-up. */
  async logoutAll(userId: string): Promise<void> {
    const cutoff = await this.usersRepository.endSessions(userId);
    if (!cutoff) return;
    this.auditSelf('auth.sessions_revoked', userId);
    await this.sessions.deleteEnded(userId, cutoff);
  }

  /** An audit line of what the signed-in account did to itself (src/logging/audit.ts). */
  private auditSelf(action: AuditAction, userId: string, sessionId?: string): void {
    this.audit.record({ action, actor: userId, actorKind: 'self', subject: userId, sessionId });
  }

  /**
   * An audit line of what whoever held a mailed link did to its account; `reactivated` when it also
   * made the account active (review 23 L-2: `status: 'active'`).
   */
  private auditLink(action: AuditAction, userId: string, reactivated = false): void {
    this.audit.record({
      action,
      actor: userId,
      actorKind: 'link',
      subject: userId,
      ...(reactivated ? { status: 'active' } : {}),
    });
  }

  /** `cutoff`: the caller's user item as the guard read it (no second read of it). */
  listSessions(userId: string, limit: number, cursor?: string, cutoff?: SessionCutoff): Promise<Page<Session>> {
    return this.sessions.listPage(this.cursors, userId, limit, cursor, cutoff);
  }

  /**
   * Revokes one of the caller's sessions; another user's session id is simply not found, and so is
   * one that has ended (`cutoff`, the caller's user item as the guard read it) though its item is still there.
   */
  async revokeSession(userId: string, sessionId: string, cutoff?: SessionCutoff): Promise<void> {
    if (!(await this.sessions.revoke(userId, sessionId, cutoff))) {
      throw notFound(ErrorCode.SessionNotFound, 'You have no session with this id.');
    }
    this.auditSelf('auth.session_revoked', userId, sessionId);
  }

  /**
   * Changes the password and signs out every other device. Outstanding reset links stay valid
   * (review 16a M1): whoever holds the password cannot keep the mailbox's owner from a reset.
   * The caller's session and the password are read together, and the write is conditioned on what
   * was read (review 16a H1): a reset, sign-out everywhere or suspension that ends the caller's
   * session while the hashes run makes the change fail with 401 `session_revoked` instead of
   * reviving that session with the keep.
   */
  async changePassword(userId: string, sessionId: string, current: string, next: string): Promise<void> {
    await this.limiter.consume([{ rule: this.config.rateLimits.passwordCheckPerAccount, subject: userId }]);
    const { session, user } = await this.sessions.findWithUser(userId, sessionId);
    if (!session || !user || user.status === 'inactive') throw sessionEnded();
    if (!(await this.passwords.verify(current, user.passwordHash))) {
      throw forbidden(ErrorCode.WrongPassword, 'The current password is wrong.');
    }
    // One write sets the password and ends every other session (the epoch); the processor sends
    // the security notice from the user item's change (docs/streams.md).
    const cutoff = await this.usersRepository.changePassword(
      userId,
      await this.passwords.hash(next),
      this.clock.now().toISOString(),
      { passwordGeneration: user.passwordGeneration ?? 0, sessionEpoch: cutoffOf(user).epoch },
      sessionId,
    );
    if (!cutoff) {
      // Something wrote the password or the epoch since the read (rare: look again). Either it
      // ended this session (or the account is gone), or it was another change from this same
      // session, after which the current password given is no longer the current one.
      const again = await this.sessions.findWithUser(userId, sessionId);
      if (!again.session || !again.user || again.user.status === 'inactive') throw sessionEnded();
      throw forbidden(ErrorCode.WrongPassword, 'The current password is wrong.');
    }
    this.auditSelf('auth.password_changed', userId, sessionId);
    await this.sessions.deleteEnded(userId, cutoff);
  }

  /**
   * Asks for a reset link when the email belongs to an account that may sign in; the caller
   * cannot tell either way: same status, body and DynamoDB calls (a mail request is written in
   * both cases, see `requestLink`), and the stream processor sends the mail.
   */
  async requestPasswordReset(email: string, client: ClientInfo): Promise<void> {
    const { passwordResetPerIp, passwordResetPerEmail } = this.config.rateLimits;
    const mails = await this.linkMailBudget(passwordResetPerIp, passwordResetPerEmail, email, client);
    const user = await this.findWithPasswordByEmail(email);
    // An account its owner deactivated gets its link too if its address was verified: the reset
    // makes it active again (review 22a M1, 23 L-3; usersRepository.setPassword). One an admin
    // deactivated, or never verified, stays shut.
    // Past the address's budget the same calls are made and the request is a stand-in's (no mail).
    const eligible = mails && user && (user.status !== 'inactive' || isSelfRecoverable(user));
    await this.actionLinks.requestLink('password_reset', eligible ? user : undefined);
  }

  /**
   * The budgets of a link request (review 22a L4): the sender's (per IP) answers 429; the address's
   * (per target email) does not, so that a stranger's requests never make the owner's own one 429:
   * past it the request is answered as any other (202) and mails nothing. False then. Every mail it
   * allowed this window went to the address, and a link lives as long as a window
   * (ACTION_TOKEN_TTL_SECONDS, 1 h): the latest of them still works until the window ends.
   */
  private async linkMailBudget(perIp: RateRule, perEmail: RateRule, email: string, client: ClientInfo) {
    await this.limiter.consume([{ rule: perIp, subject: ipOf(client) }]);
    return this.limiter.tryTake({ rule: perEmail, subject: normalizeEmail(email) }, 1);
  }

  /**
   * Counts a use of a mailed link's token against the client IP's limit (`LINK_REDEEM_RATE_*`),
   * before the token is read: over it, 429 `too_many_link_attempts`, whether the token is good or not.
   */
  private limitLinkUse(client: ClientInfo): Promise<void> {
    return this.limiter.consume(
      [{ rule: this.config.rateLimits.linkRedeemPerIp, subject: ipOf(client) }],
      ErrorCode.TooManyLinkAttempts,
    );
  }

  /**
   * Sets the new password with a reset link. The link is used up first (single use, even
   * concurrently), then the password is written only while the account still has the email
   * and the reset generation the link was issued at, in the write that ends every session
   * (the epoch): whatever fails after it, no session signed in before the reset lives on.
   */
  async confirmPasswordReset(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    await this.limitLinkUse(client);
    const consumed = await this.actionLinks.consume(token, 'password_reset');
    if (!consumed) throw invalidLink();
    const passwordHash = await this.passwords.hash(newPassword);
    const cutoff = await this.usersRepository.setPassword(
      consumed.userId,
      passwordHash,
      this.clock.now().toISOString(),
      {
        email: consumed.email,
        passwordGeneration: consumed.passwordGeneration,
        resetGeneration: consumed.resetGeneration,
      },
    );
    if (!cutoff) throw invalidLink();
    this.auditLink('auth.password_reset', consumed.userId, cutoff.reactivated);
    await this.sessions.deleteEnded(consumed.userId, cutoff);
    // The owner proved control of the mailbox: failed sign-ins no longer count against them.
    await this.clearLoginFailures(consumed.email);
  }

  /**
   * An email change's "it wasn't me" link (src/users/email-reverts.ts): read, then used up in the
   * one transaction that restores the old address, verified, releases the current one, ends every
   * session and replaces the password with the hash of a random secret nobody knows, so that the
   * owner resets it by mail, which now goes to the restored address. Single use, even
   * concurrently (the token's conditional Delete); a revert that fails (a throttle, a timeout, the
   * account changing under it) leaves the link working (review 18b L1).
   */
  async revertEmailChange(token: string, client: ClientInfo): Promise<void> {
    await this.limitLinkUse(client);
    const link = await this.actionLinks.peek(token, 'email_change_revert');
    if (!link || link.emailGeneration === undefined) throw invalidLink();
    const unusableHash = await this.passwords.hash(randomBytes(32).toString('base64url'));
    const cutoff = await this.users.revertEmailChange(
      link.userId,
      { email: link.email, generation: link.emailGeneration },
      unusableHash,
      this.actionLinks.consumePart(token, 'email_change_revert', invalidLink),
    );
    if (!cutoff) throw invalidLink();
    await this.sessions.deleteEnded(link.userId, cutoff);
    // The owner proved control of the mailbox: failed sign-ins no longer count against them.
    await this.clearLoginFailures(link.email);
  }

  /**
   * The confirmation link of an email change, mailed to the new address (review 22a M3): read, then
   * used up in the transaction that moves the account there (src/users/users.service.ts
   * `confirmEmailChange`); a change that fails (409 `email_taken`, a timeout) leaves it working.
   */
  async confirmEmailChange(token: string, client: ClientInfo): Promise<void> {
    await this.limitLinkUse(client);
    const link = await this.actionLinks.peek(token, 'email_change');
    if (!link || link.emailGeneration === undefined) throw invalidLink();
    const changed = await this.users.confirmEmailChange(
      link,
      this.actionLinks.consumePart(token, 'email_change', invalidLink),
    );
    if (!changed) throw invalidLink();
  }

  /** Like the reset request: the same answer and calls whether or not a mail goes out. */
  async requestEmailVerification(email: string, client: ClientInfo): Promise<void> {
    const { verificationPerIp, verificationPerEmail } = this.config.rateLimits;
    const mails = await this.linkMailBudget(verificationPerIp, verificationPerEmail, email, client);
    const user = await this.findWithPasswordByEmail(email);
    const eligible = mails && user && !user.emailVerified && user.status !== 'inactive';
    await this.actionLinks.requestLink('email_verification', eligible ? user : undefined);
  }

  /** Verifies the address the link was sent to, only while it is still the account's email. */
  async confirmEmailVerification(token: string, client: ClientInfo): Promise<void> {
    await this.limitLinkUse(client);
    const consumed = await this.actionLinks.consume(token, 'email_verification');
    if (!consumed) throw invalidLink();
    const user = await this.usersRepository.findById(consumed.userId);
    if (!user) throw invalidLink();
    const verified = await this.usersRepository.markEmailVerified(user, consumed.email, this.clock.now().toISOString());
    if (!verified) throw invalidLink();
    this.auditLink('user.email_verified', user.id, user.status === 'pending');
  }

  /** Always two strongly consistent reads (email item, user and sign-in items), found or not. */
  private async findWithPasswordByEmail(email: string): Promise<UserWithPassword | undefined> {
    return this.findWithPasswordById(await this.usersRepository.findIdByEmail(email));
  }

  /** The account of an email's item: a read of a placeholder when the email is unknown (same calls). */
  private async findWithPasswordById(userId: string | undefined): Promise<UserWithPassword | undefined> {
    const user = await this.usersRepository.findWithPassword(userId ?? NO_SUCH_USER_ID);
    return userId ? user : undefined;
  }

  /**
   * The failed-sign-in counters of an account: overall, from this client's IP (an IPv6 /64), and,
   * for an IPv6 client, from its /48, which refuses only past `LOGIN_SITE_FAILURE_FACTOR` times the
   * account's maximum (one failure from the /64 is enough).
   */
  private loginFailureChecks(email: string, client: ClientInfo): LoginFailureChecks {
    const rule = this.config.rateLimits.loginPerAccount;
    const subject = normalizeEmail(email);
    const ip = ipOf(client);
    const site = clientSubject(client.ip, { ipv6Prefix: 48 });
    const account: RateCheck = { rule, subject };
    const fromIp: RateCheck = { rule: { ...rule, name: `${rule.name}-ip` }, subject: `${subject}\n${ip}` };
    if (site === ip) return { account, fromIp, all: [account, fromIp] };
    const siteRule: RateRule = { ...rule, name: `${rule.name}-site`, max: rule.max * LOGIN_SITE_FAILURE_FACTOR };
    const fromSite: RateCheck = { rule: siteRule, subject: `${subject}\n${site}` };
    return { account, fromIp, fromSite, all: [account, fromIp, fromSite] };
  }

  /**
   * Takes a sign-in's guess before its password check, for an account with failures on record
   * (review 22a M4): one conditional write decides each guess, so a burst cannot pass on one read.
   * Before the trip the guess takes one of the account's failure slots (`attempts < max`: counted
   * as a failure now, cleared by a right password). In parallel the address's counter is raised;
   * a count of 1 means the address had no guess on the account in the window, and past the trip
   * (or when a burst took the last slots) that is the one guess an address gets, from IPv6 only
   * while its /48 has room (a conditional take, after the address's, so a refused address does
   * not use up the /48's guesses). Otherwise 429. Returns the counters a wrong password still adds.
   */
  private async takeLoginGuess(
    { account, fromIp, fromSite }: LoginFailureChecks,
    tripped: boolean,
    retryAfter: number,
  ): Promise<RateCheck[]> {
    const [slot, fromAddress] = await Promise.all([
      !tripped && this.limiter.tryTake(account, 1),
      this.limiter.add(fromIp),
    ]);
    if (slot) return fromSite ? [fromSite] : [];
    if (fromAddress.count === 1 && (!fromSite || (await this.limiter.tryTake(fromSite, 1)))) return [];
    throw this.limiter.refusal(ErrorCode.TooManyLoginAttempts, retryAfter);
  }

  private async clearLoginFailures(email: string, client?: ClientInfo): Promise<void> {
    const { account, all } = this.loginFailureChecks(email, client ?? {});
    if (account.rule.max === 0) return;
    await Promise.all((client ? all : [account]).map((check) => this.limiter.reset(check)));
  }

  /**
   * An account suspended for its erasure, which did not finish, may sign in and refresh (review 17a
   * L1): its tokens are refused everywhere but the owner's erase (`@ErasureRetry()`), which it retries.
   */
  private assertMaySignIn(user: User): void {
    if (user.status === 'suspended' && !isErasurePending(user))
      throw forbidden(ErrorCode.AccountSuspended, 'The account is suspended.');
    if (user.status === 'inactive') throw forbidden(ErrorCode.AccountInactive, 'The account is deactivated.');
  }

  private newSession(userId: string, client: ClientInfo, sessionEpoch = 0): { session: Session; refreshToken: string } {
    const sessionId = this.ids.next();
    const { token, hash } = this.tokens.newRefreshToken(userId, sessionId, 0);
    const now = this.clock.now();
    const ttl = Math.min(this.config.auth.refreshTokenTtlSeconds, this.config.auth.sessionMaxAgeSeconds);
    return {
      refreshToken: token,
      session: {
        id: sessionId,
        userId,
        userAgent: storableHeaderText(client.userAgent, 256),
        ip: client.ip,
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
        refreshTokenHash: hash,
        previousTokenHashes: [],
        generation: 0,
        // Left out at 0 (a new account's): absent reads as 0.
        ...(sessionEpoch > 0 ? { sessionEpoch } : {}),
      },
    };
  }

  private async issue(
    user: User,
    session: Session,
    refreshToken: string,
    lifetime: AccessTokenLifetime = 'access',
  ): Promise<IssuedTokens> {
    // A session-long token expires with the session (at the latest at its absolute maximum age).
    const expiresIn =
      lifetime === 'session'
        ? Math.max(1, Math.floor((Date.parse(session.expiresAt) - this.clock.now().getTime()) / 1000))
        : this.tokens.accessTokenTtlSeconds;
    const accessToken = await this.tokens.signAccessToken(
      { sub: user.id, sid: session.id, role: user.role },
      expiresIn,
    );
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn, user };
  }
}

/** The subject of a client's per-IP limits: an IPv4 address, an IPv6 /64 (src/common/network/client-subject.ts). */
const ipOf = (client: ClientInfo): string => clientSubject(client.ip);

/**
 * How many times the per-account failure maximum an IPv6 /48 may fail on a tripped account before
 * it is refused as a whole (10: with the default 10 failures, 100 guesses per /48 a window, where by
 * /64 a /48 had 655,360). Not 1: the owner may share the /48 with the attacker (review 20c L1).
 */
const LOGIN_SITE_FAILURE_FACTOR = 10;
