import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { CursorCodec } from '../../dynamo/cursor.js';
import { isConditionalCheckFailed } from '../../dynamo/dynamo-errors.js';
import { batchGetAll, batchWriteAll } from '../../dynamo/batch.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../../dynamo/dynamo.constants.js';
import { epochSeconds, isExpired } from '../../dynamo/expressions.js';
import { stripInternal } from '../../dynamo/items.js';
import { ENTITY, Keys } from '../../dynamo/keys.js';
import { type Page, queryAll } from '../../dynamo/pagination.js';
import {
  MAX_TRANSACTION_ITEMS,
  mustExist,
  retryWhileHeldByTransaction,
  transactWrite,
  type TransactionPart,
  type TransactOperation,
} from '../../dynamo/transactions.js';
import {
  recordLogin,
  type SessionCountChange,
  type SessionTally,
  sessionTallyOf,
  withLogin,
} from '../login-bookkeeping.js';
import type { UserWithPassword } from '../account.js';
import { cutoffOf, hasEnded, type Session, type SessionCutoff } from './session.entity.js';

/** How many rotated-out refresh token hashes a session remembers for reuse detection. */
const REMEMBERED_TOKENS = 5;

/**
 * Sign-ins of one user that raced for the cap (each counted, or recounted, against a state
 * another one changed) try again with a fresh read this many times in all, then fall back to
 * the uncounted way: create, then trim (`trimToNewest`), which settles at the cap whatever runs beside it.
 */
const CAP_ATTEMPTS = 3;

/** A sign-in's transaction lost its race for the cap: the sign-in item changed since it was read. */
class CountChanged extends Error {}

/**
 * The account was erased while it signed in (after its password was checked): no session was
 * written into the erased partition. The erasure deletes the user and sign-in items in one
 * transaction, and every sign-in transaction is conditioned on one of them.
 */
export class AccountErasedDuringSignIn extends Error {
  constructor() {
    super('The account was erased during the sign-in');
    this.name = 'AccountErasedDuringSignIn';
  }
}

type Item = Record<string, unknown>;

/** No session has ended by sign-out (an account whose user item never raised its epoch). */
const NONE_ENDED: SessionCutoff = { epoch: 0 };

/**
 * TTL deletion lags (minutes locally, up to days on AWS): a session item is only live before
 * its expiresAt (the sliding window) and while younger than the absolute maximum age. The age
 * is judged from `createdAt` with the configured maximum, so lowering SESSION_MAX_AGE_SECONDS
 * ends older sessions at once.
 */
const isLive = (item: Record<string, unknown>, oldestCreatedAt: string, now: Date): boolean =>
  !isExpired(item, now) &&
  typeof item.expiresAt === 'string' &&
  item.expiresAt > now.toISOString() &&
  typeof item.createdAt === 'string' &&
  item.createdAt > oldestCreatedAt;

@Injectable()
export class SessionsRepository {
  private readonly logger = new Logger('SessionsRepository');

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The earliest `createdAt` a live session can have now. */
  oldestLiveCreatedAt(now = this.clock.now()): string {
    return new Date(now.getTime() - this.config.auth.sessionMaxAgeSeconds * 1000).toISOString();
  }

  /** When a session created at `createdAt` ends at the latest, however often it is refreshed. */
  absoluteExpiry(createdAt: string): Date {
    return new Date(Date.parse(createdAt) + this.config.auth.sessionMaxAgeSeconds * 1000);
  }

  private live(item: Record<string, unknown>, now = this.clock.now()): boolean {
    return isLive(item, this.oldestLiveCreatedAt(now), now);
  }

  /** The write of a new session, as a part of the caller's transaction (a registration's first session). */
  createPart(session: Session): TransactOperation {
    return {
      item: {
        Put: {
          TableName: this.tableName,
          Item: {
            ...Keys.session(session.userId, session.id),
            entity: ENTITY.Session,
            ttl: epochSeconds(new Date(session.expiresAt)),
            ...session,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    };
  }

  /** Creates the session with the caller's parts in one transaction. */
  async create(session: Session, ...parts: TransactionPart[]): Promise<void> {
    await transactWrite(this.db, [this.createPart(session), ...parts]);
  }

  /**
   * A sign-in's session, with its bookkeeping on the sign-in item, keeping at most `max` live
   * sessions. The sign-in item holds a bound on the user's live sessions (`SessionTally`, read
   * with the user before the password check): under the cap, the session transaction raises it
   * on condition that it is still under the cap, and nothing is read (one call). At the cap, or
   * with no valid bound, one `Query` (keys and dates) counts the live sessions first, and the
   * transaction deletes the dead ones and the oldest live ones beyond the cap with the new
   * session's `Put` and sets the count, on condition that no sign-in happened since the read.
   * A condition lost to a concurrent sign-in re-reads the sign-in item and tries again, with the
   * session stamped anew (`restamped`). Returns the session as written.
   */
  async openWithinCap(
    session: Session,
    max: number,
    tally: SessionTally,
    cutoff: SessionCutoff = NONE_ENDED,
  ): Promise<Session> {
    let known = tally;
    let current = session;
    for (let attempt = 1; ; attempt++) {
      if (await this.tryOpen(current, max, known, cutoff)) return current;
      if (attempt === CAP_ATTEMPTS) break;
      const login = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: Keys.userLogin(session.userId), ConsistentRead: true }),
      );
      known = sessionTallyOf(tally.sessionsCounted, login.Item);
      current = this.restamped(session);
    }
    current = this.restamped(session);
    // Not conditioned on the sign-in item (it may not exist): on the user item instead.
    await this.create(
      current,
      { item: recordLogin(this.tableName, current.userId, current.createdAt) },
      this.accountExists(current.userId),
    );
    await this.trimToNewest(current.userId, max, this.clock.now(), cutoff);
    return current;
  }

  /**
   * The session as if created now, with the same lifetime (review 15a L3): evictions take the
   * oldest `createdAt` first, so a sign-in that lost its races for the cap to later ones, and
   * commits after them, must not look older than they do (it would be the next one evicted).
   */
  private restamped(session: Session): Session {
    const now = this.clock.now();
    const lifetime = Date.parse(session.expiresAt) - Date.parse(session.createdAt);
    return {
      ...session,
      createdAt: now.toISOString(),
      lastUsedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + lifetime).toISOString(),
    };
  }

  /** One attempt of `openWithinCap`: false when the sign-in item changed since `tally` was read. */
  private async tryOpen(session: Session, max: number, tally: SessionTally, cutoff: SessionCutoff): Promise<boolean> {
    let change: SessionCountChange;
    let doomed: Item[] = [];
    let later: Item[] = [];
    if (tally.bound !== undefined && tally.bound < max) {
      // With no sign-in item yet there is nothing to add to: the registration's session and this one.
      change =
        tally.logins === undefined ? { kind: 'set', count: tally.bound + 1, logins: undefined } : { kind: 'add', max };
    } else {
      const { live, dead } = await this.sessionKeys(session.userId, this.clock.now(), cutoff);
      // The newest live ones stay beside the new session; the cap's evictions go first into the
      // transaction (they make the count true), dead ones after them, what does not fit after it.
      const evicted = live.slice(Math.max(0, max - 1));
      const room = MAX_TRANSACTION_ITEMS - 2;
      doomed = [...evicted, ...dead].slice(0, room);
      later = [...evicted, ...dead].slice(room);
      const liveLeft = later.filter((item) => evicted.includes(item)).length;
      change = { kind: 'set', count: Math.min(live.length, max - 1) + 1 + liveLeft, logins: tally.logins };
    }
    try {
      await transactWrite(this.db, [
        this.createPart(session),
        {
          // Its conditions need the sign-in item that was read (the erasure deletes it first).
          item: recordLogin(this.tableName, session.userId, session.createdAt, change),
          onConditionFailed: () => new CountChanged(),
        },
        // With no sign-in item to condition on (an account's first sign-in), the user item must
        // still exist: one item more in this transaction only.
        ...(tally.logins === undefined ? [this.accountExists(session.userId)] : []),
        ...doomed.map((item) => ({ item: { Delete: { TableName: this.tableName, Key: keyOf(item) } } })),
      ]);
    } catch (error) {
      if (error instanceof CountChanged) return false;
      throw error;
    }
    await batchWriteAll(
      this.db,
      this.tableName,
      later.map((item) => ({ DeleteRequest: { Key: keyOf(item) } })),
    );
    return true;
  }

  /** The transaction part that requires the user item, so no session outlives an erasure begun meanwhile. */
  private accountExists(userId: string): TransactOperation {
    return mustExist(this.tableName, Keys.user(userId), () => new AccountErasedDuringSignIn());
  }

  /**
   * The user's session items (keys and dates): live ones newest first, and dead ones (expired,
   * or ended by `cutoff`). One `Query`.
   */
  private async sessionKeys(
    userId: string,
    now = this.clock.now(),
    cutoff: SessionCutoff = NONE_ENDED,
  ): Promise<{ live: Item[]; dead: Item[] }> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': Keys.userPartition(userId), ':prefix': Keys.sessionPrefix },
      ProjectionExpression: 'PK, SK, id, createdAt, expiresAt, sessionEpoch, #ttl',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ConsistentRead: true,
    });
    // One pass with the times computed once: a user at the cap has MAX_SESSIONS_PER_USER items here.
    const oldest = this.oldestLiveCreatedAt(now);
    const live: Item[] = [];
    const dead: Item[] = [];
    for (const item of items) (isLive(item, oldest, now) && !endedBy(item, cutoff) ? live : dead).push(item);
    live.sort(
      (a, b) => String(b.createdAt).localeCompare(String(a.createdAt)) || String(b.SK).localeCompare(String(a.SK)),
    );
    return { live, dead };
  }

  /**
   * The session and its user in one strongly consistent BatchGetItem: every authenticated
   * request sees revocation, suspension and role changes at once. Expired sessions are absent.
   */
  async findWithUser(
    userId: string,
    sessionId: string,
    { withSignIns = false }: { withSignIns?: boolean } = {},
  ): Promise<{ session?: Session; user?: UserWithPassword }> {
    // The guard needs no sign-in bookkeeping; a refresh answers the user with it, in the same call.
    const keys = [Keys.session(userId, sessionId), Keys.user(userId), ...(withSignIns ? [Keys.userLogin(userId)] : [])];
    const items = await batchGetAll(this.db, this.tableName, keys, { consistentRead: true });
    const sessionItem = items.find((item) => item.SK === Keys.session(userId, sessionId).SK);
    const userItem = items.find((item) => item.SK === Keys.user(userId).SK);
    const loginItem = items.find((item) => item.SK === Keys.userLogin(userId).SK);
    // A session that a sign-out everywhere, a password change or a status change ended is absent
    // even while its item is still there: the user item read here holds the cutoff.
    const ended = sessionItem && userItem ? endedBy(sessionItem, cutoffOf(userItem)) : false;
    return {
      session: sessionItem && this.live(sessionItem) && !ended ? stripInternal<Session>(sessionItem) : undefined,
      user: userItem ? withLogin(stripInternal<UserWithPassword>(userItem), loginItem) : undefined,
    };
  }

  async find(userId: string, sessionId: string): Promise<Session | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.session(userId, sessionId), ConsistentRead: true }),
    );
    return result.Item && this.live(result.Item) ? stripInternal<Session>(result.Item) : undefined;
  }

  /**
   * The user's live sessions, from one Query on the user's partition (paged internally); ended
   * sessions are left out by `cutoff`, the user item's as the guard read it for this request
   * (review 16a L4). Without it, the user item's is read beside the Query (one `GetItem`).
   */
  async listForUser(userId: string, knownCutoff?: SessionCutoff): Promise<Session[]> {
    const [items, cutoff] = await Promise.all([
      queryAll(this.db, {
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': Keys.userPartition(userId), ':prefix': Keys.sessionPrefix },
        ConsistentRead: true,
      }),
      knownCutoff ?? this.cutoffFor(userId),
    ]);
    return items
      .filter((item) => this.live(item) && !endedBy(item, cutoff))
      .map((item) => stripInternal<Session>(item));
  }

  /** The user item's cutoff: one consistent `GetItem` of its two attributes (none ended when absent). */
  private async cutoffFor(userId: string): Promise<SessionCutoff> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: Keys.user(userId),
        ProjectionExpression: 'sessionEpoch, sessionEpochKeeps',
        ConsistentRead: true,
      }),
    );
    return result.Item ? cutoffOf(result.Item) : NONE_ENDED;
  }

  /**
   * One page of the user's live sessions, in session-id order: one Query of at most `limit`
   * items on the user's partition, with a cursor bound to that user. Ended sessions are judged by
   * `knownCutoff`, the guard's read of the user item for this request (review 16a L4: no second
   * read); without it, the user item's cutoff is read beside the Query (one `GetItem`, in
   * parallel). Dead items that TTL has not removed yet, and ended ones whose clean-up has not run
   * or failed, are skipped, so a page can be shorter than `limit`.
   */
  async listPage(
    cursors: CursorCodec,
    userId: string,
    limit: number,
    cursor?: string,
    knownCutoff?: SessionCutoff,
  ): Promise<Page<Session>> {
    const scope = `sessions|${userId}`;
    const [result, cutoff] = await Promise.all([
      this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          ExpressionAttributeValues: { ':pk': Keys.userPartition(userId), ':prefix': Keys.sessionPrefix },
          ConsistentRead: true,
          Limit: limit,
          ExclusiveStartKey: cursors.decode(cursor, scope),
        }),
      ),
      knownCutoff ?? this.cutoffFor(userId),
    ]);
    return {
      items: (result.Items ?? [])
        .filter((item) => this.live(item) && !endedBy(item, cutoff))
        .map((item) => stripInternal<Session>(item)),
      nextCursor: cursors.encode(result.LastEvaluatedKey, scope),
    };
  }

  /**
   * Keeps at most `max` live sessions: deletes dead items and the oldest live ones beyond the
   * cap (the one created first goes first). Runs after a sign-in that lost its races for the
   * count (`openWithinCap`); concurrent sign-ins each trim, so the count settles at the cap.
   * One Query (keys and dates only) and one batch.
   */
  async trimToNewest(
    userId: string,
    max: number,
    now = this.clock.now(),
    cutoff: SessionCutoff = NONE_ENDED,
  ): Promise<number> {
    const { live, dead } = await this.sessionKeys(userId, now, cutoff);
    const doomed = [...dead, ...live.slice(max)];
    await batchWriteAll(
      this.db,
      this.tableName,
      doomed.map((item) => ({ DeleteRequest: { Key: keyOf(item) } })),
    );
    return doomed.length;
  }

  /**
   * Rotates the refresh token in one conditional write: it succeeds only while the presented
   * hash is the current one and the session has not expired, so of any number of concurrent
   * refreshes with one token, exactly one wins. Returns false when the condition failed.
   */
  async rotate(
    session: Session,
    presentedHash: string,
    next: { hash: string; expiresAt: string; usedAt: string; generation: number },
  ): Promise<boolean> {
    try {
      // A sign-in at the cap may be evicting this session in its transaction at this moment
      // (review 15a L2): once it is over, the rotation's condition finds the session gone (401).
      await retryWhileHeldByTransaction(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: Keys.session(session.userId, session.id),
            UpdateExpression:
              'SET refreshTokenHash = :next, previousTokenHashes = :previous, lastUsedAt = :now, expiresAt = :expiresAt, #ttl = :ttl, generation = :generation',
            ConditionExpression: 'refreshTokenHash = :presented AND expiresAt > :now AND createdAt > :oldest',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':next': next.hash,
              ':previous': [presentedHash, ...session.previousTokenHashes].slice(0, REMEMBERED_TOKENS),
              ':now': next.usedAt,
              ':expiresAt': next.expiresAt,
              ':ttl': epochSeconds(new Date(next.expiresAt)),
              ':presented': presentedHash,
              ':generation': next.generation,
              ':oldest': this.oldestLiveCreatedAt(new Date(next.usedAt)),
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Revokes (deletes) one session; false when the user has no such session. With the user's
   * `cutoff`, also false for an item the list does not show (ended or expired, not yet cleaned up:
   * review 16a L5), which is deleted all the same.
   */
  async revoke(userId: string, sessionId: string, cutoff?: SessionCutoff): Promise<boolean> {
    try {
      // As `rotate`: a sign-in evicting this session at this moment holds it (review 15a L2).
      const { Attributes: old } = await retryWhileHeldByTransaction(() =>
        this.db.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: Keys.session(userId, sessionId),
            ConditionExpression: 'attribute_exists(PK)',
            ReturnValues: cutoff ? 'ALL_OLD' : 'NONE',
          }),
        ),
      );
      return !cutoff || (old !== undefined && this.live(old) && !endedBy(old, cutoff));
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Clean-up after a raise of the user's `sessionEpoch` (which already ended the sessions): deletes
   * the items of the sessions `cutoff` ended, and dead ones, with one `Query` of their keys and
   * batched deletes. Sessions signed in since the raise stay. It never throws: a failure leaves
   * items that no read accepts, that the next sign-in at the cap or TTL removes, so it is logged
   * and the request that ended them still succeeds. Returns how many items it deleted.
   */
  async deleteEnded(userId: string, cutoff: SessionCutoff): Promise<number> {
    try {
      const { dead } = await this.sessionKeys(userId, this.clock.now(), cutoff);
      // DynamoDB documents TransactionConflictException for a single write to an item a transaction
      // holds (a sign-in at the cap evicting it) and UnprocessedItems (retried by batchWriteAll) for
      // throughput and internal failures, not what a batch meets: either way it is sent again.
      await retryWhileHeldByTransaction(() =>
        batchWriteAll(
          this.db,
          this.tableName,
          dead.map((item) => ({ DeleteRequest: { Key: keyOf(item) } })),
        ),
      );
      return dead.length;
    } catch (error) {
      this.logger.warn(
        `Ended sessions of user ${userId} are left for TTL and the cap's clean-up: ${(error as Error).message}`,
      );
      return 0;
    }
  }
}

/** True when the user item's cutoff ended this session item. */
const endedBy = (item: Item, cutoff: SessionCutoff): boolean =>
  hasEnded(
    {
      id: typeof item.id === 'string' ? item.id : String(item.SK).slice(Keys.sessionPrefix.length),
      sessionEpoch: item.sessionEpoch,
    },
    cutoff,
  );

const keyOf = (item: Item): { PK: string; SK: string } => ({ PK: item.PK as string, SK: item.SK as string });
