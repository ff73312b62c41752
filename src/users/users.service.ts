import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { RateLimiter } from '../dynamo/rate-limiter.js';
import { ActionLinksService } from '../identity/action-links/action-links.service.js';
import { SessionsRepository } from '../identity/sessions/sessions.repository.js';
import { actorOn, AUDIT_LOG, type AuditLog, OPERATOR } from '../logging/audit.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { clientSubject } from '../common/network/client-subject.js';
import {
  badRequest,
  conflict,
  DomainError,
  exportTooLarge,
  forbidden,
  notFound,
  serviceUnavailable,
} from '../common/errors/domain-error.js';
import { assertVersion } from '../common/errors/version-mismatch.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { collectUpTo, type Page } from '../dynamo/pagination.js';
import { PasswordHasher } from './password-hasher.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { ENTITY, Keys, normalizeEmail } from '../dynamo/keys.js';
import { cutoffOf, type Session, type SessionCutoff } from '../identity/sessions/session.entity.js';
import { liveReverts, MAX_PENDING_EMAIL_REVERTS, revertPlan, revertsAfterChange } from './email-reverts.js';
import type {
  DeactivatedBy,
  Profile,
  User,
  UserAggregate,
  UserRole,
  UserStatus,
  UserWithPassword,
} from './user.entity.js';
import { isReservedUsername, unreserved, usernameFromEmail, withRandomSuffix } from '../identity/username.js';
import { mayChangeEmail, refuseWhileErasing } from '../identity/account.js';
import { type ProfileChanges, UsersRepository } from './users.repository.js';
import type { TransactionPart } from '../dynamo/transactions.js';
import { isDateBefore, pastDateMessage } from '../common/validation/dates.js';

/** What the account holds of a user's personal data (the export workflow adds their content). */
export interface AccountPersonalData {
  exportedAt: string;
  user: User;
  profile: Profile;
  sessions: Session[];
  actionTokens: { kind: string; email: string; createdAt: string; expiresAt: string }[];
  idempotencyKeys: { key: string; postId: string }[];
}

export interface NewUser {
  email: string;
  passwordHash: string;
  /** Only trusted code (the admin bootstrap) sets these; the API never does. */
  role?: UserRole;
  status?: UserStatus;
  emailVerified?: boolean;
  username?: string;
  firstName?: string;
  lastName?: string;
}

/** A reserved name answers as a taken one: 409 `username_taken`. */
const reservedUsername = () => conflict(ErrorCode.UsernameTaken, 'This username is taken.');

/** How often a derived username gets a new random suffix before giving up. */
const DERIVED_USERNAME_ATTEMPTS = 5;

/**
 * Writes a revert tries while the account changes under it (each a 412 on its version): bounded,
 * since the account's own writes (an attacker's, say) could go on; the link is not used up by a
 * write that failed, so the owner can try again.
 */
const MAX_REVERT_ATTEMPTS = 5;

/**
 * Whether deactivating by `by` writes: an active, pending or suspended account, and an account its
 * owner deactivated when an admin deactivates it (the admin's decision is the one recorded).
 */
const deactivates = (user: User, by: DeactivatedBy): boolean =>
  user.status !== 'inactive' || (by === 'admin' && user.deactivatedBy !== 'admin');

/**
 * ensureAdmin's refusal when ADMIN_EMAIL is only reserved for a pending undo link of an email
 * change: the start-up logs it and boots without the admin (review 18b M2).
 */
export class AdminEmailReservedError extends Error {
  override readonly name = 'AdminEmailReservedError';
}

/**
 * ensureAdmin's refusal when ADMIN_EMAIL belongs to an account whose erasure is pending (session 19):
 * the takeover would revive it with its content already credited to `deleted-user`. The start-up
 * logs it and boots without the admin, as for a reserved address.
 */
export class AdminAccountBeingErasedError extends Error {
  override readonly name = 'AdminAccountBeingErasedError';
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly passwords: PasswordHasher,
    private readonly actionLinks: ActionLinksService,
    private readonly cursors: CursorCodec,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
  ) {}

  /**
   * Creates a `pending` user with an empty profile; `signIn` adds its part (the first session)
   * to the same transaction. A username the caller chose must be free and not reserved
   * (409 otherwise); one derived from the email gets a random suffix when taken or reserved.
   */
  async create(input: NewUser, signIn?: (user: User) => TransactionPart): Promise<User> {
    const derived = input.username === undefined;
    let username = input.username ?? usernameFromEmail(input.email, this.ids);
    if (isReservedUsername(username)) {
      if (!derived) throw reservedUsername();
      username = unreserved(username);
    }
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now().toISOString();
      const user: UserWithPassword = {
        id: this.ids.next(),
        email: normalizeEmail(input.email),
        username,
        firstName: input.firstName,
        lastName: input.lastName,
        role: input.role ?? 'user',
        status: input.status ?? 'pending',
        emailVerified: input.emailVerified ?? false,
        ...(input.emailVerified ? { emailVerifiedAt: now } : {}),
        // Registration through the API signs the user in at once (the first session is in the same transaction).
        ...(signIn ? { lastLoginAt: now, loginCount: 1 } : { loginCount: 0 }),
        createdAt: now,
        updatedAt: now,
        version: 1,
        passwordHash: input.passwordHash,
      };
      const profile: Profile = { userId: user.id, updatedAt: now, version: 1 };
      const { passwordHash: _hash, ...created } = user;
      try {
        await this.users.create(user, profile, ...(signIn ? [signIn(created)] : []));
        return created;
      } catch (error) {
        const usernameTaken = error instanceof DomainError && error.code === ErrorCode.UsernameTaken;
        if (!usernameTaken || !derived || attempt >= DERIVED_USERNAME_ATTEMPTS) throw error;
        username = withRandomSuffix(usernameFromEmail(input.email, this.ids), this.ids);
      }
    }
  }

  /** The caller's own account and profile (strongly consistent: it follows the caller's writes). */
  async getOwn(userId: string): Promise<UserAggregate> {
    const aggregate = await this.users.findAggregate(userId, true);
    if (!aggregate) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    return aggregate;
  }

  async updateOwn(
    userId: string,
    changes: { firstName?: string | null; lastName?: string | null; username?: string },
    ifMatch: number | undefined,
  ): Promise<UserAggregate> {
    const { user } = await this.getOwn(userId);
    const expected = assertVersion(ifMatch, user.version);
    if (changes.username !== undefined && changes.username !== user.username && isReservedUsername(changes.username)) {
      throw reservedUsername();
    }
    // Each change of what posts and comments show (username, name) is copied onto every one of
    // them by the stream processor: limited per account, so renaming in a loop cannot flood it.
    const changed = (field: 'username' | 'firstName' | 'lastName') =>
      changes[field] !== undefined && (changes[field] ?? undefined) !== user[field];
    // Counted inside the update's transaction: only a rename that commits uses up the quota.
    const renames =
      changed('username') || changed('firstName') || changed('lastName')
        ? [
            this.limiter.countOnCommit(
              { rule: this.config.rateLimits.renamePerAccount, subject: userId },
              ErrorCode.TooManyRenames,
            ),
          ]
        : [];
    await this.users.updateAccount(user, changes, expected, ...renames);
    return this.getOwn(userId);
  }

  async updateProfile(userId: string, changes: ProfileChanges, ifMatch: number | undefined): Promise<UserAggregate> {
    // The DTO checked the date's form; "in the past" is checked here, on the app's clock.
    if (changes.dateOfBirth && !isDateBefore(changes.dateOfBirth, this.clock.now())) {
      throw badRequest(ErrorCode.ValidationFailed, 'Invalid request: dateOfBirth', [
        { field: 'dateOfBirth', messages: [pastDateMessage('dateOfBirth')] },
      ]);
    }
    const { profile } = await this.getOwn(userId);
    await this.users.updateProfile(userId, changes, assertVersion(ifMatch, profile.version));
    return this.getOwn(userId);
  }

  /**
   * Asks to move the account to a new email, after checking the password (review 22a M3): nothing
   * changes on the account, which keeps its address for sign-in, reset and mail; a confirmation
   * link is mailed to the new address (an `email_change` link, bound to the user, the new address,
   * the account's email generation and its password and reset generations, so that a completed
   * change or revert, a password change or reset, or the admin takeover kills it). The new address
   * is not reserved: its real owner may still register it, and the confirmation's claim then fails
   * (409 `email_taken`). One taken now is 409 `email_taken` at once, as the account's own address
   * is 400; so is a request while 10 undo links are pending (409 `too_many_email_changes`).
   * Limited per client IP (429) and, like a reset request's address (review 22a L4), per new
   * address (review 23 M-1): past that budget the request is answered the same and mails nothing
   * (the same calls, a stand-in mail request), so no one can flood an address with confirmations.
   */
  async requestEmailChange(
    userId: string,
    email: string,
    password: string,
    ip: string | undefined,
  ): Promise<{ pendingEmail: string; expiresAt: string }> {
    const { passwordCheckPerAccount, emailChangePerIp, emailChangePerEmail } = this.config.rateLimits;
    // It checks the current password: limited like a password change, per account.
    await this.limiter.consume([
      { rule: emailChangePerIp, subject: clientSubject(ip) },
      { rule: passwordCheckPerAccount, subject: userId },
    ]);
    const user = await this.users.findWithPassword(userId);
    if (!user || !(await this.passwords.verify(password, user.passwordHash))) {
      throw forbidden(ErrorCode.WrongPassword, 'The password is wrong.');
    }
    const normalized = normalizeEmail(email);
    if (normalized === user.email) {
      throw badRequest(ErrorCode.ValidationFailed, 'Invalid request: email', [
        { field: 'email', messages: ["email is already the account's address"] },
      ]);
    }
    const now = this.clock.now();
    this.refusePastRevertBound(user, now.toISOString());
    if (await this.users.emailInUse(normalized, now.toISOString())) {
      throw conflict(ErrorCode.EmailTaken, 'That email is already registered.');
    }
    // Counted only for a request that would mail (a refused one spends nothing of the address's).
    const mails = await this.limiter.tryTake({ rule: emailChangePerEmail, subject: normalized }, 1);
    await this.actionLinks.requestLink('email_change', mails ? { ...user, email: normalized } : undefined);
    this.audit.record({ action: 'user.email_change_requested', ...actorOn(userId, userId) });
    return {
      pendingEmail: normalized,
      expiresAt: new Date(now.getTime() + this.config.auth.actionTokenTtlSeconds * 1000).toISOString(),
    };
  }

  /** 409 `too_many_email_changes`: a change would reserve a verified address past the bound of pending reverts. */
  private refusePastRevertBound(user: User, now: string): void {
    const pending = liveReverts(user.emailReverts, now);
    if (user.emailVerified && pending.length >= MAX_PENDING_EMAIL_REVERTS) {
      throw conflict(
        ErrorCode.TooManyEmailChanges,
        `The account has ${pending.length} email changes whose undo links are still pending; try again once they expire.`,
      );
    }
  }

  /**
   * An `email_change` link, used (review 22a M3): moves the account to the link's address, now
   * verified (a `pending` account becomes active), while the account is still as the request left
   * it (the same email, email, password and reset generations; not being erased; `active` or
   * `pending`: not suspended or deactivated, review 23 L-1).
   * The new address is claimed conditionally (409 `email_taken` if someone took it meanwhile, the
   * link still working); the old address, when verified, is reserved for the change's undo link,
   * else released; the processor sends the notices. `consume` (the link's use) commits with it.
   * False when the link's change can no longer be made (the caller answers 400).
   */
  async confirmEmailChange(
    link: {
      userId: string;
      email: string;
      emailGeneration?: number;
      passwordGeneration: number;
      resetGeneration?: number;
    },
    consume: TransactionPart,
  ): Promise<boolean> {
    return retriedWhileChanging(async () => {
      const user = await this.users.findById(link.userId);
      const current =
        user !== undefined &&
        user.email !== link.email &&
        (user.emailGeneration ?? 0) === link.emailGeneration &&
        (user.passwordGeneration ?? 0) === link.passwordGeneration &&
        (user.resetGeneration ?? 0) === (link.resetGeneration ?? 0) &&
        user.erasureRequestedAt === undefined &&
        mayChangeEmail(user);
      if (!current) return false;
      const now = this.clock.now().toISOString();
      this.refusePastRevertBound(user, now);
      // Only an address the account proved it holds is reserved for an undo link (review 18b M1):
      // an unverified one is released as before, or anyone could hold any address by registering
      // it and moving away.
      const reserveUntil = new Date(
        Date.parse(now) + this.config.auth.emailChangeRevertTtlHours * 3600 * 1000,
      ).toISOString();
      // The processor sends the notice to the old address (with its undo link when the old
      // address is reserved for one) from this change's record.
      await this.users.changeEmail(
        user,
        link.email,
        user.emailVerified
          ? {
              reserveUntil,
              reverts: revertsAfterChange(user.emailReverts, now, {
                from: user.email,
                generation: (user.emailGeneration ?? 0) + 1,
                expiresAt: reserveUntil,
                takeoverGeneration: user.takeoverGeneration ?? 0,
              }),
            }
          : { reverts: liveReverts(user.emailReverts, now) },
        consume,
      );
      // A pending account became active (review 23 L-2: the line says the status changed).
      this.audit.record({
        action: 'user.email_changed',
        actor: user.id,
        actorKind: 'link',
        subject: user.id,
        ...(user.status === 'pending' ? { status: 'active' } : {}),
      });
      return true;
    });
  }

  /**
   * An email change's "it wasn't me" link, used: restores `email` when the change of `generation`
   * is still pending revert (src/users/email-reverts.ts), with an unusable password and every
   * session ended. `consume` is the link's use, a part of the revert's transaction (review 18b L1):
   * a revert that does not commit leaves the link working. Reads the account again while it
   * changed meanwhile (412) and the link's change is still pending, up to
   * MAX_REVERT_ATTEMPTS writes, then 503 `transaction_conflict` (the link still works). The cutoff
   * for the clean-up, or undefined when the link's change is no longer pending (reverted, expired,
   * erased).
   */
  async revertEmailChange(
    userId: string,
    link: { email: string; generation: number },
    unusableHash: string,
    consume: TransactionPart,
  ): Promise<SessionCutoff | undefined> {
    return retriedWhileChanging(async () => {
      const user = await this.users.findById(userId);
      const plan = user && revertPlan(user, this.clock.now().toISOString(), link.generation, link.email);
      if (!user || !plan) return undefined;
      const cutoff = await this.users.revertEmail(user, plan, unusableHash, consume);
      // Review 22a H1's addendum: whether the account the link gave back holds the admin role.
      this.audit.record({
        action: 'user.email_change_reverted',
        actor: userId,
        actorKind: 'link',
        subject: userId,
        keptAdminRole: user.role === 'admin',
        // A pending or owner-deactivated account made active (review 23 L-2).
        ...(cutoff.reactivated ? { status: 'active' } : {}),
      });
      return cutoff;
    });
  }

  /**
   * Soft delete: the account is deactivated, every session revoked; content stays. `by` is
   * recorded (`deactivatedBy`): an admin's deactivation of an account its owner deactivated
   * replaces the owner's, so that an email change's revert does not undo it. Like an admin's
   * `PATCH .../status`, never of an account whose erasure is pending (409 `erasure_pending`, review
   * 19b L3): that would drop the owner's sign-in to retry the erase.
   */
  async deactivate(userId: string, by: DeactivatedBy, actorId: string = userId): Promise<void> {
    const user = await this.users.findById(userId);
    if (!user) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    // The status write ends every session (the epoch); the deletes are clean-up.
    let cutoff = cutoffOf(user);
    if (deactivates(user, by)) {
      cutoff = await this.changeStatusUnlessErasing(user, {
        status: 'inactive',
        deletedAt: this.clock.now().toISOString(),
        deactivatedBy: by,
      });
      this.audit.record({ action: 'user.deactivated', ...actorOn(actorId, userId), status: 'inactive', mode: by });
    }
    await this.sessions.deleteEnded(userId, cutoff);
  }

  /**
   * The first step of a hard delete, before any content is touched: 404 for an unknown user, then
   * a suspension, which ends every session (the epoch, in its write), so that the account cannot
   * post behind the walk that anonymises its content, and stays shut if a later step fails until
   * the delete is run again (review 16a L2). The same write records `erasureRequestedAt` (review
   * 17a L1): while it is set the owner may sign in again, but only to retry the erase, and
   * `users:finish-erasures` finishes an erasure left for longer. The last active admin is refused
   * here (suspending an admin checks that another remains). A suspended or deactivated account
   * keeps its status (its sessions ended with it) and gains the marker if it has none; a retry
   * keeps the first one.
   */
  async prepareErasure(userId: string): Promise<void> {
    const before = await this.users.findById(userId);
    if (!before) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    const erasureRequestedAt = before.erasureRequestedAt ?? this.clock.now().toISOString();
    if (before.status === 'pending' || before.status === 'active') {
      // Only the erase's own suspension lets the owner sign in to retry (review 18d M1).
      await this.users.setRoleAndStatus(before, { status: 'suspended', erasureRequestedAt, erasureSignIn: true });
    } else if (before.erasureRequestedAt === undefined) {
      await this.users.setRoleAndStatus(before, { erasureRequestedAt });
    }
  }

  /**
   * The last step of a hard delete: the account and its personal data, once the content is
   * anonymised. The delete is conditioned on the version read; when it changed meanwhile (a password
   * reset, another erase of the same account) the account is read again (review 18d L1): gone is
   * done, present is erased as read now. `onlyMarked` (the `users:finish-erasures` sweep, review 18d
   * H1): only while the fresh read still carries the erasure marker, false (nothing done) when it
   * does not, so an account revived since the sweep's Scan stays.
   */
  async eraseAccount(userId: string, options: { onlyMarked?: boolean } = {}): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const user = await this.users.findById(userId);
      if (!user) {
        if (attempt === 0) throw notFound(ErrorCode.UserNotFound, 'No such user.');
        return true;
      }
      if (options.onlyMarked === true && user.erasureRequestedAt === undefined) return false;
      try {
        await this.users.erase(user);
        return true;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCode.VersionMismatch) || attempt >= 2) throw error;
      }
    }
  }

  /** Whether the account carries the erasure marker on a strongly consistent read (404 when gone). */
  async isMarkedForErasure(userId: string): Promise<boolean> {
    return (await this.requireUser(userId)).erasureRequestedAt !== undefined;
  }

  /**
   * Erases the account as it was read (a stale pending one a registration replaces): 412
   * version_mismatch when it changed meanwhile (verified, signed in elsewhere).
   */
  async eraseAsRead(holder: User): Promise<void> {
    await this.users.erase(holder);
  }

  /**
   * What self-erasure (`DELETE /users/me?mode=erase`) asks before the admin's hard delete runs:
   * the current password, limited like a password change.
   */
  confirmErasure(userId: string, password: string | undefined): Promise<void> {
    return this.confirmOwner(userId, password, 'Erasing');
  }

  /**
   * The owner's deactivation (`DELETE /users/me`, review 22a M1): the current password, as the
   * erase asks (a bearer token alone may not be the owner's), then `deactivate(userId, 'owner')`.
   */
  async deactivateSelf(userId: string, password: string | undefined): Promise<void> {
    await this.confirmOwner(userId, password, 'Deactivating');
    await this.deactivate(userId, 'owner');
  }

  /**
   * The current password of an account-level change made with a token: 400 `password_required`
   * without one (before the limit), then one check limited like a password change, per account
   * (403 `wrong_password`).
   */
  private async confirmOwner(userId: string, password: string | undefined, doing: string): Promise<void> {
    const user = await this.users.findWithPassword(userId);
    if (!user) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    if (password === undefined)
      throw badRequest(ErrorCode.PasswordRequired, `${doing} the account needs the current password in the body.`);
    // It checks the current password: limited like a password change, per account.
    await this.limiter.consume([{ rule: this.config.rateLimits.passwordCheckPerAccount, subject: userId }]);
    if (!(await this.passwords.verify(password, user.passwordHash)))
      throw forbidden(ErrorCode.WrongPassword, 'The password is wrong.');
  }

  /**
   * The account's part of `GET /users/me/export`: the account, profile and sessions, unused
   * links and idempotency records (GSI3 `OWNED#`, at most `max`: 422 `export_too_large` past it).
   * Queries of the user's own collections only. The ended sessions are told apart by the user item
   * this reads (consistently) anyway: fresher than the guard's copy, at no extra call (review 17a L2).
   */
  async accountPersonalData(userId: string, now: Date, max: number): Promise<AccountPersonalData> {
    const { user, profile } = await this.getOwn(userId);
    const sessions = (await this.sessions.listForUser(userId, cutoffOf(user))).filter(
      (s) => s.expiresAt > now.toISOString(),
    );
    const owned = await collectUpTo(this.users.ownedItemPages(userId), max, () =>
      exportTooLarge('links and idempotency records', max),
    );
    return {
      exportedAt: now.toISOString(),
      user,
      profile,
      sessions,
      actionTokens: owned
        .filter((item) => item.entity === ENTITY.ActionToken && String(item.expiresAt) > now.toISOString())
        .map((item) => ({
          kind: item.kind as string,
          email: item.email as string,
          createdAt: item.createdAt as string,
          expiresAt: item.expiresAt as string,
        })),
      idempotencyKeys: owned
        .filter((item) => item.entity === ENTITY.Idempotency && Number(item.ttl) > now.getTime() / 1000)
        .map((item) => ({
          key: String(item.PK).slice(Keys.idempotency(userId, '').PK.length),
          postId: item.postId as string,
        })),
    };
  }

  /** The id a username belongs to, if any: one strongly consistent GetItem of its uniqueness item. */
  idByUsername(username: string): Promise<string | undefined> {
    return this.users.findIdByUsername(username);
  }

  /**
   * Whether an account is shown publicly as `getPublic` decides (not deactivated; an erased one is
   * gone): one eventually consistent GetItem of the user item's status, where `getPublic` reads
   * the whole aggregate.
   */
  async isPublic(userId: string): Promise<boolean> {
    const status = await this.users.findStatus(userId);
    return status !== undefined && status !== 'inactive';
  }

  /**
   * A page of one user's public list (their posts, their comments), read beside `isPublic` (one
   * GetItem in parallel: a call more, no added latency): an empty last page, as an unknown user's,
   * when the account is not shown, so a deactivated account's lists are hidden like its profile.
   */
  async pageOfShown<T>(userId: string, page: Promise<Page<T>>): Promise<Page<T>> {
    const [read, shown] = await Promise.all([page, this.isPublic(userId)]);
    return shown ? read : { items: [], nextCursor: null };
  }

  /**
   * A page of one user's list for an admin (their posts in any status), read beside the user's
   * status (one strongly consistent GetItem in parallel, 1 RCU): 404 `user_not_found` when the
   * account does not exist (never created, or erased), whatever its status otherwise. Consistent,
   * so that an account created a moment ago is never 404 (an eventually consistent read can miss
   * a write of the last second); the page itself is an index Query, which may lag it.
   */
  async pageOfExisting<T>(userId: string, page: Promise<Page<T>>): Promise<Page<T>> {
    const [read, status] = await Promise.all([page, this.users.findStatus(userId, true)]);
    if (status === undefined) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    return read;
  }

  /**
   * A page of one user's public list that costs several reads (their comments: up to 3 reads of 3
   * calls), read only once `isPublic` said the account is shown: a deactivated or unknown account's
   * list is then an empty last page for that one GetItem, where reading beside it spent the whole
   * page's calls for nothing. A shown account's page waits for that GetItem (a round trip more).
   */
  async pageIfShown<T>(userId: string, read: () => Promise<Page<T>>): Promise<Page<T>> {
    return (await this.isPublic(userId)) ? read() : { items: [], nextCursor: null };
  }

  /** Profiles (bio, avatar) of the authors of a page: one BatchGetItem, whatever the page size. */
  profilesOf(userIds: string[]): Promise<Map<string, Profile>> {
    return this.users.findProfiles(userIds);
  }

  async getByUsername(username: string): Promise<UserAggregate> {
    const userId = await this.users.findIdByUsername(username);
    if (!userId) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    return this.getPublic(userId);
  }

  listUsers(filter: { role?: UserRole; status?: UserStatus }, limit: number, cursor?: string): Promise<Page<User>> {
    return this.users.list(this.cursors, filter, limit, cursor);
  }

  /**
   * Admin: change a role. The last active admin cannot be demoted (409 last_admin). `actorId`: the
   * admin's id, for the audit line; none for the operator (`user:role`).
   */
  async setRole(userId: string, role: UserRole, ifMatch?: number, actorId?: string): Promise<User> {
    const user = await this.requireUser(userId);
    assertVersion(ifMatch, user.version);
    if (user.role !== role) {
      await this.users.setRoleAndStatus(user, { role });
      this.audit.record({ action: 'user.role_changed', ...actorOn(actorId, userId), role });
    }
    return this.requireUser(userId);
  }

  /**
   * Admin: change a status; suspending or deactivating revokes every session at once. `actorId`:
   * the admin's id, for the audit line.
   */
  async setStatus(
    userId: string,
    status: Exclude<UserStatus, 'pending'>,
    ifMatch?: number,
    actorId?: string,
  ): Promise<User> {
    const user = await this.requireUser(userId);
    assertVersion(ifMatch, user.version);
    // A move away from active ends every session in the status write (the epoch); the deletes are clean-up.
    const changes = status === 'inactive' ? deactivates(user, 'admin') : user.status !== status;
    const cutoff = changes
      ? await this.changeStatusUnlessErasing(user, {
          status,
          ...(status === 'inactive' ? { deletedAt: this.clock.now().toISOString(), deactivatedBy: 'admin' } : {}),
        })
      : cutoffOf(user);
    // The e2e mutation run (stryker.e2e.config.mjs) measures this method's status rules; the audit
    // line is a log line, which its unit spec checks (users.service.spec.ts, "audit lines").
    // Stryker disable next-line all
    if (changes) this.audit.record({ action: 'user.status_changed', ...actorOn(actorId, userId), status });
    if (status !== 'active') await this.sessions.deleteEnded(userId, cutoff);
    return this.requireUser(userId);
  }

  /**
   * A status change by an admin or the operator, never of an account whose erasure is pending (409
   * `erasure_pending`, session 19): the erase's request stands, finished by its retry, the admin's
   * hard delete or `users:finish-erasures`, so content it already credited to `deleted-user` never
   * stays behind a revived account, and a suspension cannot stall it either. Race-free: the write is
   * conditioned on the version read, and the erase sets its marker with a write conditioned on its own
   * read before it moves any content; whichever writes second fails, and a status change that lost
   * to the marker is the same 409. The repository refuses it too (its user update, review 19b M1),
   * whoever the caller; this check only spares the write and answers a lost race with the 409.
   */
  private async changeStatusUnlessErasing(
    user: User,
    next: { status: UserStatus; role?: UserRole; deletedAt?: string; deactivatedBy?: DeactivatedBy },
  ): Promise<SessionCutoff> {
    refuseWhileErasing(user);
    try {
      return await this.users.setRoleAndStatus(user, next);
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) {
        const now = await this.users.findById(user.id);
        if (now) refuseWhileErasing(now);
      }
      throw error;
    }
  }

  /**
   * Makes sure an active admin with this email exists: creates one (verified, active) or takes
   * over the existing account. A takeover gives the account the operator's password (a new
   * password generation, so outstanding reset links die), marks the email verified and revokes
   * every session: whoever registered the address first, perhaps a stranger who guessed it,
   * keeps nothing. An account that is already an active admin is left alone. Idempotent, and
   * safe when several instances start at once.
   */
  async ensureAdmin(
    email: string,
    passwordHash: () => Promise<string>,
  ): Promise<'created' | 'taken-over' | 'unchanged'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const userId = await this.users.findIdByEmail(email);
      if (!userId) {
        try {
          const created = await this.create({
            email,
            passwordHash: await passwordHash(),
            role: 'admin',
            status: 'active',
            emailVerified: true,
          });
          this.audit.record({ action: 'admin.bootstrap', ...OPERATOR, subject: created.id, outcome: 'created' });
          return 'created';
        } catch (error) {
          if (error instanceof DomainError && error.code === ErrorCode.EmailTaken) continue;
          throw error;
        }
      }
      const user = await this.requireUser(userId);
      if (user.role === 'admin' && user.status === 'active' && user.emailVerified) return 'unchanged';
      if (user.erasureRequestedAt !== undefined)
        throw new AdminAccountBeingErasedError(
          `Could not take over ${email} as the admin: account ${userId} is being erased (asked for at ` +
            `${user.erasureRequestedAt}). Finish it (npm run users:finish-erasures) or use another ADMIN_EMAIL.`,
        );
      let cutoff;
      try {
        cutoff = await this.users.takeOverAsAdmin(user, await passwordHash());
      } catch (error) {
        // Another instance (or a request) changed the account meanwhile: look again.
        if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) continue;
        throw error;
      }
      this.audit.record({
        action: 'admin.bootstrap',
        ...OPERATOR,
        subject: userId,
        outcome: 'taken-over',
        role: 'admin',
      });
      await this.sessions.deleteEnded(userId, cutoff);
      return 'taken-over';
    }
    const reservation = await this.users.findEmailReservation(email);
    if (reservation) {
      // Only reserved: the undo link of an email change of another account may still restore it.
      throw new AdminEmailReservedError(
        `Could not create the admin ${email}: the address is reserved until ${reservation.reservedUntil} for a pending ` +
          `revert of an email change of account ${reservation.reservedFor}. Use another ADMIN_EMAIL, or start again once it lapses.`,
      );
    }
    throw new Error(`Could not create or take over the admin ${email}`);
  }

  /**
   * Sets the role of the account with this email (the `user:role` command). `unverifiedStaff`
   * is true when it made a moderator or an admin of an account whose email nobody has confirmed:
   * the caller warns, since whoever registered the address may not be who the operator thinks.
   * A promotion to admin retires the account's pending email-change reverts (review 22a H1, in the
   * role's write): `retiredReverts` names the addresses whose undo links it killed, for the warning.
   */
  async setRoleByEmail(
    email: string,
    role: UserRole,
  ): Promise<{ user: User; unverifiedStaff: boolean; retiredReverts: string[] }> {
    const userId = await this.users.findIdByEmail(email);
    if (!userId) throw notFound(ErrorCode.UserNotFound, `No user has the email ${email}.`);
    const user = await this.requireUser(userId);
    const unverifiedStaff = role !== 'user' && !user.emailVerified;
    const retiredReverts =
      role === 'admin' && user.role !== 'admin'
        ? liveReverts(user.emailReverts, this.clock.now().toISOString()).map((revert) => revert.email)
        : [];
    if (role === 'admin' && user.status !== 'active') {
      await this.changeStatusUnlessErasing(user, { role, status: 'active' });
      this.audit.record({ action: 'user.role_changed', ...OPERATOR, subject: userId, role, status: 'active' });
      return { user: await this.requireUser(userId), unverifiedStaff, retiredReverts };
    }
    return { user: await this.setRole(userId, role), unverifiedStaff, retiredReverts };
  }

  private async requireUser(userId: string): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw notFound(ErrorCode.UserNotFound, 'No such user.');
    return user;
  }

  /** A user that the public may see: not deleted, not deactivated. */
  async getPublic(userId: string): Promise<UserAggregate> {
    const aggregate = await this.users.findAggregate(userId);
    if (!aggregate || aggregate.user.status === 'inactive') {
      throw notFound(ErrorCode.UserNotFound, 'No such user.');
    }
    return aggregate;
  }
}

/**
 * A link's use that reads the account and writes on its version: read and written again while the
 * account changed meanwhile (412), up to MAX_REVERT_ATTEMPTS writes, then 503
 * `transaction_conflict` (the link, used only in the write's transaction, still works).
 */
async function retriedWhileChanging<T>(useLink: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < MAX_REVERT_ATTEMPTS; attempt++) {
    try {
      return await useLink();
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) continue;
      throw error;
    }
  }
  throw serviceUnavailable(
    ErrorCode.TransactionConflict,
    'The account kept changing while the link was used; the link still works: try it again.',
    1,
  );
}
