import { followCountsOf } from '../follows/follow-items.js';
import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { conflict, DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { batchGetAll, batchWriteAll, deletePartition, type WriteRequest } from '../dynamo/batch.js';
import type { CursorCodec } from '../dynamo/cursor.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { buildUpdate, epochSeconds, type UpdateSpec } from '../dynamo/expressions.js';
import { stripInternal } from '../dynamo/items.js';
import { ADMIN_COUNTER_KEY, ENTITY, Keys, OwnedIndexKeys, UserIndexKeys, type ItemKey } from '../dynamo/keys.js';
import { type Page, queryPages } from '../dynamo/pagination.js';
import { queryShardedIndexPage } from '../dynamo/sharded-page.js';
import { itemAt, type ReadPart, readTogether } from '../dynamo/read-parts.js';
import { type TransactOperation, type TransactionPart, transactWrite } from '../dynamo/transactions.js';
import { UniqueValues } from '../dynamo/uniqueness.js';
import { VersionedWrites } from '../dynamo/versioned-writes.js';
import { type SessionTally, sessionTallyOf, withLogin } from '../identity/login-bookkeeping.js';
import { cutoffOf, type SessionCutoff } from '../identity/sessions/session.entity.js';
import type {
  DeactivatedBy,
  Profile,
  User,
  UserAggregate,
  UserRole,
  UserStatus,
  UserWithPassword,
} from './user.entity.js';
import {
  ERASURE_MARKER_ATTRIBUTES,
  type EmailRevert,
  erasureMarkerRemoval,
  isSelfRecoverable,
  refuseWhileErasing,
} from '../identity/account.js';
import { liveReverts, type RevertPlan } from './email-reverts.js';
import { activeAdminDelta, adminCounterUpdate, lastAdmin } from './admin-counter.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';

type Item = Record<string, unknown>;

/** An account its owner deactivated (recorded since session 19): an email change's revert reactivates it. */
/**
 * A write's session cutoff, and whether it also moved the account to `active` (from `pending`, or
 * from `inactive` when its owner deactivated it): the audit line says so (review 23 L-2).
 */
export interface CutoffAndReactivation extends SessionCutoff {
  reactivated?: true;
}

/** `{ reactivated: true }` when a write set `status` and the account was `from` another status. */
const reactivation = (from: User['status'], status: User['status']): { reactivated?: true } =>
  status === 'active' && from !== 'active' ? { reactivated: true } : {};

const reactivatedByRevert = (user: User): boolean => user.status === 'inactive' && user.deactivatedBy === 'owner';

function toUser(item: Item): User {
  const { passwordHash: _hidden, ...user } = stripInternal<UserWithPassword>(item);
  return user;
}

/** The stored form of a user: its attributes plus its keys in every listing. */
export function toUserItem(user: UserWithPassword): Item {
  return { ...Keys.user(user.id), ...UserIndexKeys.forUser(user), entity: ENTITY.User, ...user };
}

/**
 * An account's unique values (emails, usernames), owned through `userId`. A release whose
 * condition fails means the account changed meanwhile: the version's 412.
 */
const accountValues = (
  tableName: string,
  kind: 'email' | 'username',
  key: (value: string) => ItemKey,
  taken: () => Error,
) => new UniqueValues({ tableName, key, kind, ownerAttribute: 'userId', taken, lost: () => versionMismatch() });

/** Fields of the profile that a user may change. `null` removes a field. */
export type ProfileChanges = Partial<{
  [K in keyof Omit<Profile, 'userId' | 'updatedAt' | 'version'>]: Profile[K] | null;
}>;

/** Persistence of users, profiles and their uniqueness items. The only code that speaks DynamoDB for them. */
/** `attribute = :value`, where a counter that was never raised (0) is absent from the item. */
const equalsOrAbsentAtZero = (attribute: string, placeholder: string, value: number): string =>
  value === 0
    ? `(attribute_not_exists(${attribute}) OR ${attribute} = ${placeholder})`
    : `${attribute} = ${placeholder}`;

@Injectable()
export class UsersRepository {
  private readonly versioned: VersionedWrites;
  private readonly emails: UniqueValues;
  private readonly usernames: UniqueValues;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.versioned = new VersionedWrites(tableName, () => versionMismatch());
    this.emails = accountValues(tableName, 'email', Keys.uniqueEmail, () =>
      conflict(ErrorCode.EmailTaken, 'An account with this email already exists.'),
    );
    this.usernames = accountValues(tableName, 'username', Keys.uniqueUsername, () =>
      conflict(ErrorCode.UsernameTaken, 'This username is taken.'),
    );
  }

  /**
   * Writes the user, the profile, the reader's empty `FEED#DAYS` and the email and username
   * uniqueness items in one transaction: a taken email or username fails the whole write (409), so two concurrent
   * registrations of one email can never both succeed. `parts` join the same transaction (the
   * first session of a registration that signs in at once).
   */
  async create(user: UserWithPassword, profile: Profile, ...parts: TransactionPart[]): Promise<void> {
    const TableName = this.tableName;
    const notExists = 'attribute_not_exists(PK)';
    // Created with no sign-in item: until its first sign-in, the account has at most the one
    // session of its registration, and that sign-in need not count them (SessionTally).
    const item = { ...toUserItem(user), sessionsCounted: true };
    await transactWrite(this.db, [
      { item: { Put: { TableName, Item: item, ConditionExpression: notExists } } },
      {
        item: {
          Put: {
            TableName,
            Item: { ...Keys.profile(user.id), entity: ENTITY.Profile, ...profile },
            ConditionExpression: notExists,
          },
        },
      },
      // The reader's day counts, made with the account: the feed's fan-out writes a reader's
      // timeline only while this item is there, and the erasure deletes it (src/feed/timeline.repository.ts).
      { item: { Put: { TableName, Item: { ...Keys.feedDays(user.id), entity: ENTITY.FeedDays } } } },
      this.claimEmail(user.email, user.id),
      this.usernames.claim(user.username, user.id),
      ...this.adminCounterOperations(undefined, user),
      ...parts,
    ]);
  }

  /**
   * Replaces the password hash with a reset link: the write happens only while the account still
   * has the email the link was sent to and the reset generation it was issued at (undefined when
   * either changed). The version, the password generation and the reset generation rise, so stale
   * writes fail and every other reset link dies; the same write raises the session epoch, ending
   * every session (src/identity/sessions/session.entity.ts), and returns the cutoff for the clean-up.
   * A link minted before reset generations existed carries none: it is bound to the password
   * generation, as it was when issued (such links expire within ACTION_TOKEN_TTL_SECONDS).
   */
  async setPassword(
    userId: string,
    passwordHash: string,
    at: string,
    expect: { email: string; passwordGeneration: number; resetGeneration?: number },
  ): Promise<CutoffAndReactivation | undefined> {
    const [attribute, generation] =
      expect.resetGeneration === undefined
        ? (['passwordGeneration', expect.passwordGeneration] as const)
        : (['resetGeneration', expect.resetGeneration] as const);
    const bound = {
      expression: `email = :boundEmail AND ${equalsOrAbsentAtZero(attribute, ':boundGeneration', generation)}`,
      values: { ':boundEmail': expect.email, ':boundGeneration': generation },
    };
    // An account its owner deactivated is not written here: its reset also reactivates it (below).
    const cutoff = await this.writePassword(
      userId,
      passwordHash,
      at,
      {
        expression: `attribute_exists(PK) AND ${bound.expression} AND (attribute_not_exists(deactivatedBy) OR deactivatedBy <> :ownerDeactivated)`,
        values: { ...bound.values, ':ownerDeactivated': 'owner' },
      },
      { resetGeneration: 1 },
    );
    return (
      cutoff ?? this.resetDeactivatedByOwner(userId, passwordHash, at, { attribute, generation, bound, ...expect })
    );
  }

  /**
   * The reset of an account its owner deactivated (review 22a M1): the password, every session's end
   * and the move back to `active` with the active-admin count, in one transaction on the version read
   * and the link's binding. Only a self-recoverable one moves (`isSelfRecoverable`): one being erased
   * keeps its status (its erase finishes it), and so does one whose address was never verified
   * (review 23 L-3: a link mailed before it was deactivated sets the password, and the account stays
   * shut and replaceable by M2). Undefined when the link's binding no longer holds or the account is gone, or is
   * not one its owner deactivated (the first write's condition failed on the binding), or kept
   * changing under three tries.
   */
  private async resetDeactivatedByOwner(
    userId: string,
    passwordHash: string,
    at: string,
    link: {
      email: string;
      attribute: 'passwordGeneration' | 'resetGeneration';
      generation: number;
      bound: { expression: string; values: Record<string, unknown> };
    },
  ): Promise<CutoffAndReactivation | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const user = await this.findById(userId);
      if (!user || user.deactivatedBy !== 'owner' || user.email !== link.email) return undefined;
      if ((user[link.attribute] ?? 0) !== link.generation) return undefined;
      const status = isSelfRecoverable(user) ? 'active' : user.status;
      try {
        await transactWrite(this.db, [
          this.userUpdate(
            user,
            {
              set: { passwordHash, updatedAt: at },
              add: { passwordGeneration: 1, sessionEpoch: 1, resetGeneration: 1 },
              remove: ['sessionEpochKeeps'],
              status,
            },
            link.bound,
          ),
          ...this.adminCounterOperations(user, { role: user.role, status }),
        ]);
        // Conditioned on the version read: the epoch was the one read.
        return { epoch: cutoffOf(user).epoch + 1, ...reactivation(user.status, status) };
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCode.VersionMismatch)) throw error;
      }
    }
    return undefined;
  }

  /**
   * Replaces the password hash for a change made from session `keepSessionId`, which the raise of
   * the epoch spares. The write is conditioned on the password generation and the session epoch
   * `read` with the caller's live session (review 16a H1): a reset, sign-out everywhere, suspension
   * or other change that commits after that read fails this one (undefined, nothing written), so
   * the keep can never revive a session that they ended. Undefined as well when the user is gone.
   * The reset generation does not rise: reset links issued before the change still work (review
   * 16a M1), since a link proves control of the mailbox, which knowing the password does not.
   */
  async changePassword(
    userId: string,
    passwordHash: string,
    at: string,
    read: { passwordGeneration: number; sessionEpoch: number },
    keepSessionId: string,
  ): Promise<SessionCutoff | undefined> {
    return this.writePassword(
      userId,
      passwordHash,
      at,
      {
        expression: [
          'attribute_exists(PK)',
          equalsOrAbsentAtZero('passwordGeneration', ':readGeneration', read.passwordGeneration),
          equalsOrAbsentAtZero('sessionEpoch', ':readEpoch', read.sessionEpoch),
        ].join(' AND '),
        values: { ':readGeneration': read.passwordGeneration, ':readEpoch': read.sessionEpoch },
      },
      {},
      keepSessionId,
    );
  }

  /** The password's one UpdateItem (see setPassword, changePassword): undefined when `condition` fails. */
  private async writePassword(
    userId: string,
    passwordHash: string,
    at: string,
    condition: { expression: string; values: Record<string, unknown> },
    add: { resetGeneration?: number },
    keepSessionId?: string,
  ): Promise<SessionCutoff | undefined> {
    // The same write ends every other session (the epoch), so no failure after it leaves one alive.
    const epoch = await this.raiseSessionEpoch(userId, {
      set: { passwordHash, updatedAt: at, sessionEpochKeeps: keepSessionId },
      add: { version: 1, passwordGeneration: 1, sessionEpoch: 1, ...add },
      remove: keepSessionId === undefined ? ['sessionEpochKeeps'] : [],
      condition,
    });
    return epoch === undefined ? undefined : { epoch, keeps: keepSessionId };
  }

  /** One UpdateItem of the user item that raises `sessionEpoch`: the new epoch, undefined when `condition` fails. */
  private async raiseSessionEpoch(userId: string, update: UpdateSpec): Promise<number | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.user(userId),
          ...buildUpdate(update),
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.sessionEpoch);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Ends every session of the user at once (sign-out everywhere): one `UpdateItem` raising the
   * user item's `sessionEpoch`. The user item is copied by its four listing indexes, so this
   * writes 5 items (about 5 WCU); sign-outs everywhere are rare. Undefined when the user is gone.
   */
  async endSessions(userId: string): Promise<SessionCutoff | undefined> {
    const epoch = await this.raiseSessionEpoch(userId, {
      // The version rises too, so that a status change or takeover conditioned on the version it
      // read (with the epoch) fails instead of reporting a stale cutoff (review 16a L1), and
      // If-Match clients see the change.
      add: { sessionEpoch: 1, version: 1 },
      remove: ['sessionEpochKeeps'],
      condition: { expression: 'attribute_exists(PK)' },
    });
    return epoch === undefined ? undefined : { epoch };
  }

  /**
   * The admin bootstrap's takeover of an existing account: the operator's password (a new
   * password and reset generations, so outstanding reset links die), a verified email, role admin and
   * status active, with the active-admin count, in one transaction on the user's version. The
   * takeover generation rises too, so that the stream processor's notice tells it from a reset.
   * Every pending email-change revert is retired (review 22a H1): its reservation released, its
   * undo link dead, so whoever held the account before cannot take it back, now an admin.
   */
  async takeOverAsAdmin(user: User, passwordHash: string): Promise<SessionCutoff> {
    const at = this.clock.now().toISOString();
    await transactWrite(this.db, [
      this.userUpdate(user, {
        set: {
          passwordHash,
          emailVerified: true,
          emailVerifiedAt: user.emailVerifiedAt ?? at,
          emailReverts: [],
          updatedAt: at,
        },
        // Every session of whoever held the account ends with this write.
        add: { passwordGeneration: 1, resetGeneration: 1, takeoverGeneration: 1, sessionEpoch: 1 },
        // Never an account being erased (ensureAdmin refuses it first, session 19); the marker goes all the same.
        remove: ['sessionEpochKeeps', ...ERASURE_MARKER_ATTRIBUTES],
        role: 'admin',
        status: 'active',
      }),
      ...this.adminCounterOperations(user, { role: 'admin', status: 'active' }),
      ...this.retireReverts(user, at),
    ]);
    // The update was conditioned on the version read, so the epoch was the one read.
    return { epoch: cutoffOf(user).epoch + 1 };
  }

  /**
   * Marks the email verified, only while it is still the user's email (an email change in
   * between makes the old link useless). `activate` also moves a `pending` user to `active`,
   * on condition that it is still pending. False when a condition failed.
   */
  async markEmailVerified(user: User, email: string, at: string): Promise<boolean> {
    const activate = user.status === 'pending';
    const operation = this.userUpdate(
      user,
      {
        set: { emailVerified: true, emailVerifiedAt: at, updatedAt: at },
        ...(activate ? { status: 'active' as const } : {}),
      },
      { expression: 'email = :email', values: { ':email': email } },
    );
    try {
      await transactWrite(this.db, [operation]);
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) return false;
      throw error;
    }
  }

  /**
   * Changes names and/or the username. A new username swaps the uniqueness items in the same
   * transaction (409 when taken). `expectedVersion` is the If-Match version.
   */
  async updateAccount(
    user: User,
    changes: { firstName?: string | null; lastName?: string | null; username?: string },
    expectedVersion: number,
    ...extra: TransactionPart[]
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    const operations: TransactionPart[] = [];
    const swapUsername = changes.username !== undefined && changes.username !== user.username;
    operations.push(
      this.userUpdate(
        { ...user, version: expectedVersion },
        {
          set: {
            firstName: changes.firstName ?? undefined,
            lastName: changes.lastName ?? undefined,
            updatedAt: at,
            ...(swapUsername ? { username: changes.username } : {}),
          },
          remove: [
            ...(changes.firstName === null ? ['firstName'] : []),
            ...(changes.lastName === null ? ['lastName'] : []),
          ],
        },
      ),
    );
    if (swapUsername) operations.push(...this.usernames.swap(user.username, changes.username!, user.id));
    // After the user's own update, so a stale version is reported (412) before a full rate window (429).
    await transactWrite(this.db, [...operations, ...extra]);
  }

  /**
   * Moves the account to a new email, verified (its confirmation link was used, review 22a M3; a
   * `pending` account becomes active), in one transaction: the new address is
   * claimed; the old one, with `revert.reserveUntil`, is not released but reserved for the change's
   * revert link until then (src/users/email-reverts.ts), else released (an address the account
   * never verified: review 18b M1). `revert.reverts` is the account's list after the change. The
   * email generation rises: the link and the reservation are bound to it. Conditioned on the
   * version read, so the verification the caller decided on is the one written over.
   */
  async changeEmail(
    user: User,
    email: string,
    revert: { reserveUntil?: string; reverts: EmailRevert[] },
    ...extra: TransactionPart[]
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    const status = user.status === 'pending' ? 'active' : user.status;
    await transactWrite(this.db, [
      ...extra,
      this.userUpdate(user, {
        set: { email, emailVerified: true, emailVerifiedAt: at, updatedAt: at, emailReverts: revert.reverts },
        add: { emailGeneration: 1 },
        status,
      }),
      ...this.adminCounterOperations(user, { role: user.role, status }),
      revert.reserveUntil
        ? this.reserveEmail(user, (user.emailGeneration ?? 0) + 1, revert.reserveUntil)
        : this.emails.release(user.email, user.id),
      this.claimEmail(email, user.id),
    ]);
  }

  /**
   * Whether an address is an account's or reserved for a pending undo link (one strongly consistent
   * GetItem): an email change to it is refused at once (review 22a M3). A lapsed reservation counts
   * as free, as for a claim.
   */
  async emailInUse(email: string, now: string): Promise<boolean> {
    const { Item: item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.uniqueEmail(email), ConsistentRead: true }),
    );
    return item !== undefined && (item.userId !== undefined || String(item.reservedUntil) > now);
  }

  /**
   * An email change's revert (its link used), in one transaction on the user's version: the
   * reserved address becomes the account's again, verified (a pending account, or one its owner
   * deactivated, active again; a suspended one, or one an admin deactivated, unchanged); the current address and the
   * reservations of later changes are released; the password becomes `unusableHash` (nobody knows
   * it: the owner resets it by mail, which now goes to the restored address); every session ends
   * (the epoch). `consume` is the link's use (review 18b L1), first so that its failed condition
   * (the link used meanwhile) is the one reported; any other failed condition is the version's 412
   * (the caller reads again).
   */
  async revertEmail(
    user: User,
    plan: RevertPlan,
    unusableHash: string,
    consume: TransactionPart,
  ): Promise<CutoffAndReactivation> {
    const at = this.clock.now().toISOString();
    // An account whose erasure is pending (review 19b M1, L6) gets its address back, but keeps its
    // status (the erase finishes it) and its password: an unusable one would stop its owner signing
    // in to retry the erase, and whoever knows the password can do nothing else with it.
    const erasing = user.erasureRequestedAt !== undefined;
    // Otherwise proving the mailbox is enough to use the account again: a pending one (never
    // verified) and one its owner deactivated (review 18b L3: whoever moved the account could
    // deactivate it, leaving a restored account nobody can sign in to or reset) become active. An
    // admin's decision stays: a suspension, and a deactivation by an admin or by nobody recorded
    // (session 19).
    const status = !erasing && (user.status === 'pending' || reactivatedByRevert(user)) ? 'active' : user.status;
    const reservation = (revert: EmailRevert) => ({
      expression: 'reservedFor = :owner AND reservationGeneration = :generation',
      values: { ':owner': user.id, ':generation': revert.generation },
    });
    await transactWrite(this.db, [
      consume,
      this.userUpdate(user, {
        set: {
          email: plan.target.email,
          emailVerified: true,
          emailVerifiedAt: at,
          emailRevertedAt: at,
          emailReverts: plan.kept,
          ...(erasing ? {} : { passwordHash: unusableHash }),
          updatedAt: at,
        },
        // The reset generation rises all the same: reset links mailed to the address left die.
        add: { emailGeneration: 1, ...(erasing ? {} : { passwordGeneration: 1 }), resetGeneration: 1, sessionEpoch: 1 },
        remove: ['sessionEpochKeeps'],
        status,
      }),
      ...this.adminCounterOperations(user, { role: user.role, status }),
      {
        item: {
          Put: {
            TableName: this.tableName,
            Item: { ...Keys.uniqueEmail(plan.target.email), entity: ENTITY.Unique, kind: 'email', userId: user.id },
            ConditionExpression: reservation(plan.target).expression,
            ExpressionAttributeValues: reservation(plan.target).values,
          },
        },
        onConditionFailed: () => versionMismatch(),
      },
      this.emails.release(user.email, user.id),
      ...plan.undone.map((revert) => this.releaseReservation(user, revert)),
    ]);
    // Conditioned on the version read: the epoch was the one read.
    return { epoch: cutoffOf(user).epoch + 1, ...reactivation(user.status, status) };
  }

  /**
   * The releases of every pending revert's reservation (their links die with them), as the erasure,
   * the admin takeover and a promotion to admin do; the caller's user update empties the list.
   */
  private retireReverts(user: User, at: string): TransactOperation[] {
    return liveReverts(user.emailReverts, at).map((revert) => this.releaseReservation(user, revert));
  }

  /**
   * The end of a pending revert's reservation (its link dies with it): deleted on condition that it
   * still names the account and the change's generation; otherwise the version's 412 (the account's
   * list changed, or the reservation lapsed and was claimed: the caller reads again).
   */
  private releaseReservation(user: User, revert: EmailRevert): TransactOperation {
    return {
      item: {
        Delete: {
          TableName: this.tableName,
          Key: Keys.uniqueEmail(revert.email),
          ConditionExpression: 'reservedFor = :owner AND reservationGeneration = :generation',
          ExpressionAttributeValues: { ':owner': user.id, ':generation': revert.generation },
        },
      },
      onConditionFailed: () => versionMismatch(),
    };
  }

  /**
   * The reservation of the address the account leaves: the uniqueness item stays (nobody can claim
   * the address) but names no `userId`, so no sign-in, reset or lookup by email resolves it to the
   * account; `reservedFor` and `reservationGeneration` bind it to the change, `ttl` removes it once
   * it has lapsed (a claim does not wait for that: see claimEmail).
   */
  private reserveEmail(user: User, generation: number, reservedUntil: string): TransactOperation {
    return {
      item: {
        Put: {
          TableName: this.tableName,
          Item: {
            ...Keys.uniqueEmail(user.email),
            entity: ENTITY.Unique,
            kind: 'email',
            reservedFor: user.id,
            reservationGeneration: generation,
            reservedUntil,
            ttl: epochSeconds(new Date(reservedUntil)),
          },
          ConditionExpression: 'userId = :owner',
          ExpressionAttributeValues: { ':owner': user.id },
        },
      },
      onConditionFailed: () => versionMismatch(),
    };
  }

  /**
   * The claim of an email: free, or only reserved and lapsed. 409 email_taken otherwise, also for
   * the account the address is reserved for (review 18b H1): while its revert is pending, the way
   * back to the address is the link, not a change that would take the reservation from it.
   */
  private claimEmail(email: string, userId: string): TransactOperation {
    return this.emails.claim(email, userId, {
      expression: 'attribute_not_exists(userId) AND reservedUntil <= :now',
      values: { ':now': this.clock.now().toISOString() },
    });
  }

  /**
   * A check, for another module's transaction, that an email change's undo link can still be used:
   * the address the change left is still reserved for the account's revert of that generation and
   * the reservation has not lapsed (the token's mint, session 20). The revert (its target turned
   * back into a claim, later changes' reservations released), the erasure (live reservations
   * deleted) and the lapse each end it; `onGone` is the error then.
   */
  pendingRevertCheck(
    revert: { userId: string; email: string; emailGeneration: number },
    now: Date,
    onGone: () => Error,
  ): TransactOperation {
    return {
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: Keys.uniqueEmail(revert.email),
          ConditionExpression: 'reservedFor = :owner AND reservationGeneration = :generation AND reservedUntil > :now',
          ExpressionAttributeValues: {
            ':owner': revert.userId,
            ':generation': revert.emailGeneration,
            ':now': now.toISOString(),
          },
        },
      },
      onConditionFailed: onGone,
    };
  }

  /** The pending revert an address is reserved for, if it is only reserved (strongly consistent). */
  async findEmailReservation(email: string): Promise<{ reservedFor: string; reservedUntil: string } | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.uniqueEmail(email), ConsistentRead: true }),
    );
    const item = result.Item;
    if (!item || item.userId !== undefined || typeof item.reservedFor !== 'string') return undefined;
    return { reservedFor: item.reservedFor, reservedUntil: String(item.reservedUntil) };
  }

  /**
   * Changes the role and/or the status, keeping the listings and the active-admin count exact.
   * A move to `suspended` or `inactive` also ends every session (the epoch, in the same write), so
   * none comes back if the account is reactivated. Returns the user's cutoff after the write.
   */
  async setRoleAndStatus(
    user: User,
    next: {
      role?: UserRole;
      status?: UserStatus;
      deletedAt?: string;
      /** With `status: 'inactive'`: who deactivated it (the revert of an email change reads it). */
      deactivatedBy?: DeactivatedBy;
      erasureRequestedAt?: string;
      erasureSignIn?: true;
    },
  ): Promise<SessionCutoff> {
    const at = this.clock.now().toISOString();
    const endsSessions = next.status === 'suspended' || next.status === 'inactive';
    // A promotion to admin retires the pending email-change reverts (review 22a H1), as the takeover
    // does: an undo link must not hand an admin account to whoever held an address it left.
    const retires = next.role === 'admin' && user.role !== 'admin';
    await transactWrite(this.db, [
      this.userUpdate(user, {
        set: {
          updatedAt: at,
          ...(retires ? { emailReverts: [] } : {}),
          ...(next.deletedAt ? { deletedAt: next.deletedAt } : {}),
          ...(next.status === 'inactive' && next.deactivatedBy ? { deactivatedBy: next.deactivatedBy } : {}),
          ...(next.erasureRequestedAt ? { erasureRequestedAt: next.erasureRequestedAt } : {}),
          ...(next.erasureSignIn ? { erasureSignIn: true } : {}),
        },
        ...(endsSessions ? { add: { sessionEpoch: 1 } } : {}),
        remove: [...(endsSessions ? ['sessionEpochKeeps'] : []), ...erasureMarkerRemoval(user, next)],
        role: next.role,
        status: next.status,
      }),
      ...this.adminCounterOperations(user, { role: next.role ?? user.role, status: next.status ?? user.status }),
      ...(retires ? this.retireReverts(user, at) : []),
    ]);
    // Conditioned on the version read: the epoch was the one read.
    return endsSessions ? { epoch: cutoffOf(user).epoch + 1 } : cutoffOf(user);
  }

  /** Updates the profile fields given; `null` removes one. Honours the profile's version. */
  async updateProfile(userId: string, changes: ProfileChanges, expectedVersion: number): Promise<void> {
    const set: Record<string, unknown> = { updatedAt: this.clock.now().toISOString() };
    const remove: string[] = [];
    for (const [field, value] of Object.entries(changes)) {
      if (value === null) remove.push(field);
      else if (value !== undefined) set[field] = value;
    }
    await this.versioned.send(this.db, this.versioned.update(Keys.profile(userId), { set, remove }, expectedVersion));
  }

  /**
   * Erases the user: the user and sign-in items (with the admin count, the uniqueness items and
   * the reservations of its pending email reverts, in one transaction), so the account is gone at
   * once; the stream processor removes the rest. A failed condition is the version's 412.
   */
  async erase(user: User): Promise<void> {
    await transactWrite(this.db, [
      this.versioned.delete(Keys.user(user.id), user.version),
      // With the user item: every sign-in's transaction is conditioned on one of the two, so a
      // sign-in that read the account before this cannot write a session into its partition after.
      { item: { Delete: { TableName: this.tableName, Key: Keys.userLogin(user.id) } } },
      ...this.adminCounterOperations(user, undefined),
      // The email and username are free again the moment the account is gone.
      this.emails.release(user.email, user.id, { ifPresent: true }),
      this.usernames.release(user.username, user.id, { ifPresent: true }),
      // So are the addresses reserved for its pending reverts (review 18b L2): their links die
      // with the account, and the owner of an address it was moved away from can register it again.
      ...this.retireReverts(user, this.clock.now().toISOString()),
    ]);
  }

  /**
   * What an erased account leaves (its profile, sign-in item and sessions; its tokens and
   * idempotency records under GSI3 `OWNED#`): removed by the stream processor when it sees the user
   * item's removal, never in the request. Deleting what is gone is fine, so it can run again.
   */
  async deleteAccountRemains(userId: string): Promise<number> {
    let deleted = await deletePartition(this.db, this.tableName, Keys.userPartition(userId));
    // Page by page: idempotency records can number many thousands (review 5, #9).
    for await (const page of this.ownedItemPages(userId)) {
      const deletes: WriteRequest[] = page.map((item) => ({
        DeleteRequest: { Key: { PK: item.PK as string, SK: item.SK as string } },
      }));
      await batchWriteAll(this.db, this.tableName, deletes);
      deleted += deletes.length;
    }
    return deleted;
  }

  /**
   * Items outside the user's partition that hold the user's id, a page at a time: unused reset and
   * verification tokens, idempotency records (GSI3 `OWNED#<id>`). Short-lived, but an author
   * creating posts with idempotency keys leaves one a creation for 24 h (and TTL lags), so they
   * are never read all at once.
   */
  ownedItemPages(userId: string): AsyncGenerator<Item[]> {
    return queryPages(this.db, {
      TableName: this.tableName,
      IndexName: INDEX_PATTERNS.ownedItems.index,
      KeyConditionExpression: 'GSI3PK = :pk',
      ExpressionAttributeValues: { ':pk': OwnedIndexKeys.partition(userId) },
    });
  }

  /** The user and profile, with one Query on the user's partition. */
  async findAggregate(userId: string, consistent = false): Promise<UserAggregate | undefined> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': Keys.userPartition(userId), ':prefix': Keys.userAggregatePrefix },
        ConsistentRead: consistent,
      }),
    );
    const items = result.Items ?? [];
    const userItem = items.find((item) => item.SK === Keys.user(userId).SK);
    if (!userItem) return undefined;
    const profileItem = items.find((item) => item.SK === Keys.profile(userId).SK);
    const profile = profileItem
      ? stripInternal<Profile>(profileItem)
      : { userId, updatedAt: userItem.createdAt as string, version: 1 };
    return {
      user: withLogin(
        toUser(userItem),
        items.find((item) => item.SK === Keys.userLogin(userId).SK),
      ),
      profile,
      follows: followCountsOf(items.find((item) => item.SK === Keys.followCounts(userId).SK)),
    };
  }

  /**
   * Strongly consistent read of the user item with its password hash (login, password change)
   * and its sign-in bookkeeping: one BatchGetItem.
   */
  async findWithPassword(userId: string): Promise<UserWithPassword | undefined> {
    return (await this.findForSignIn(userId)).user;
  }

  /**
   * `findWithPassword` for a sign-in: with the bound on the user's live sessions that the
   * sign-in item keeps, from the same `BatchGetItem` (src/identity/login-bookkeeping.ts).
   */
  async findForSignIn(userId: string): Promise<{ user?: UserWithPassword; sessions: SessionTally }> {
    const items = await batchGetAll(this.db, this.tableName, [Keys.user(userId), Keys.userLogin(userId)], {
      consistentRead: true,
    });
    const userItem = items.find((item) => item.SK === Keys.user(userId).SK);
    const loginItem = items.find((item) => item.SK === Keys.userLogin(userId).SK);
    const sessions = sessionTallyOf(userItem?.sessionsCounted === true, loginItem);
    if (!userItem) return { sessions };
    return { user: withLogin(stripInternal<UserWithPassword>(userItem), loginItem), sessions };
  }

  async findById(userId: string): Promise<User | undefined> {
    const user = await this.findWithPassword(userId);
    return user ? toUser(user as unknown as Item) : undefined;
  }

  /** The profiles of several users (bio, avatar): one BatchGetItem; a user without a profile item is absent. */
  async findProfiles(userIds: string[]): Promise<Map<string, Profile>> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return new Map();
    const items = await batchGetAll(
      this.db,
      this.tableName,
      unique.map((id) => Keys.profile(id)),
    );
    return new Map(items.map((item) => [item.userId as string, stripInternal<Profile>(item)]));
  }

  /** Resolves an email to a user id through its uniqueness item (strongly consistent). */
  findIdByEmail(email: string): Promise<string | undefined> {
    return this.findIdByUnique(Keys.uniqueEmail(email));
  }

  /**
   * `findIdByEmail` and another read (`part`) in one strongly consistent BatchGetItem: a
   * sign-in reads the account's failure counters with it.
   */
  async findIdByEmailWith<T>(email: string, part: ReadPart<T>): Promise<[string | undefined, T]> {
    const key = Keys.uniqueEmail(email);
    const emailPart: ReadPart<string | undefined> = {
      keys: [key],
      decode: (items) => itemAt(items, key)?.userId as string | undefined,
    };
    return readTogether(this.db, this.tableName, emailPart, part);
  }

  findIdByUsername(username: string): Promise<string | undefined> {
    return this.findIdByUnique(Keys.uniqueUsername(username));
  }

  /**
   * A user's status alone: one GetItem of the user item, projected (eventually consistent unless
   * `consistent`: 0.5 or 1 RCU); none without one.
   */
  async findStatus(userId: string, consistent = false): Promise<UserStatus | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: Keys.user(userId),
        ConsistentRead: consistent,
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    return result.Item?.status as UserStatus | undefined;
  }

  /** A page of users, newest first, from the index that serves the filter: its shards merged. */
  async list(
    cursors: CursorCodec,
    filter: { role?: UserRole; status?: UserStatus },
    limit: number,
    cursor?: string,
  ): Promise<Page<User>> {
    const { index, base } = UserIndexKeys.listing(filter);
    const page = await queryShardedIndexPage(this.db, cursors, {
      tableName: this.tableName,
      index,
      base,
      limit,
      cursor,
    });
    // The index entries hold the user item only: one eventually consistent BatchGetItem of the
    // page's sign-in items (admin-only, so the extra call is worth sign-ins that write no index).
    const logins =
      page.items.length === 0
        ? []
        : await batchGetAll(
            this.db,
            this.tableName,
            page.items.map((item) => Keys.userLogin(item.id as string)),
          );
    const byPartition = new Map(logins.map((login) => [login.PK as string, login]));
    return {
      items: page.items.map((item) => withLogin(toUser(item), byPartition.get(item.PK as string))),
      nextCursor: page.nextCursor,
    };
  }

  private async findIdByUnique(key: ItemKey): Promise<string | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return result.Item?.userId as string | undefined;
  }

  /**
   * An update of the user item on condition of its version, raising the version by one. A
   * role or status change rewrites the listing keys with it. The one place a user's status is
   * written, so the erasure rule is kept here rather than by each caller (review 19b M1, L3): the
   * status of an account read with the erasure marker never changes (409 `erasure_pending`, nothing
   * written), except by the erase's own write, the one that sets `erasureRequestedAt`. Race-free:
   * the update is conditioned on the version read, and the marker's write raises it.
   */
  private userUpdate(
    user: User,
    change: {
      set?: Record<string, unknown>;
      remove?: string[];
      add?: Record<string, number>;
      role?: UserRole;
      status?: UserStatus;
    },
    extraCondition?: { expression: string; values: Record<string, unknown> },
  ): TransactOperation {
    const role = change.role ?? user.role;
    const status = change.status ?? user.status;
    if (status !== user.status && change.set?.erasureRequestedAt === undefined) refuseWhileErasing(user);
    const indexChanged = role !== user.role || status !== user.status;
    // Who deactivated the account goes with any move away from `inactive`, whatever makes it.
    const reactivated = user.deactivatedBy !== undefined && status !== 'inactive';
    return this.versioned.update(
      Keys.user(user.id),
      {
        set: {
          ...change.set,
          ...(indexChanged ? { role, status, ...UserIndexKeys.forUser({ ...user, role, status }) } : {}),
        },
        remove: [...(change.remove ?? []), ...(reactivated ? ['deactivatedBy'] : [])],
        add: change.add,
        allowIndexAttributes: indexChanged,
      },
      user.version,
      extraCondition,
    );
  }

  /** The admin counter's change for a user's change (src/users/admin-counter.ts): none, or one. */
  private adminCounterOperations(
    before: Pick<User, 'role' | 'status'> | undefined,
    after: Pick<User, 'role' | 'status'> | undefined,
  ): TransactOperation[] {
    const delta = activeAdminDelta(before, after);
    if (delta === 0) return [];
    return [
      {
        item: { Update: { TableName: this.tableName, Key: ADMIN_COUNTER_KEY, ...adminCounterUpdate(delta) } },
        onConditionFailed: lastAdmin,
      },
    ];
  }
}
