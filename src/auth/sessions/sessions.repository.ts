import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../dynamo/dynamo-errors.js';
import { batchGetAll, batchWriteAll } from '../../dynamo/batch.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../../dynamo/dynamo.constants.js';
import { epochSeconds, isExpired } from '../../dynamo/expressions.js';
import { stripInternal } from '../../dynamo/items.js';
import { ENTITY, Keys } from '../../dynamo/keys.js';
import { queryAll } from '../../dynamo/pagination.js';
import { transactWrite, type TransactItem } from '../../dynamo/transactions.js';
import type { UserWithPassword } from '../../users/user.entity.js';
import type { Session } from './session.entity.js';

/** How many rotated-out refresh token hashes a session remembers for reuse detection. */
const REMEMBERED_TOKENS = 5;

/** TTL deletion lags (minutes locally, up to days on AWS): a session item is only live before its expiresAt. */
const isLive = (item: Record<string, unknown>, now = new Date()): boolean =>
  !isExpired(item, now) && typeof item.expiresAt === 'string' && item.expiresAt > now.toISOString();

@Injectable()
export class SessionsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /** The Put of a new session, to run inside the caller's transaction (login, registration). */
  putItem(session: Session): TransactItem {
    return {
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
    };
  }

  /** Creates the session and records the login on the user, in one transaction. */
  async createWithLogin(session: Session, recordLogin: TransactItem): Promise<void> {
    await transactWrite(this.db, [{ item: this.putItem(session) }, { item: recordLogin }]);
  }

  /**
   * The session and its user in one strongly consistent BatchGetItem: every authenticated
   * request sees revocation, suspension and role changes at once. Expired sessions are absent.
   */
  async findWithUser(userId: string, sessionId: string): Promise<{ session?: Session; user?: UserWithPassword }> {
    const items = await batchGetAll(this.db, this.tableName, [Keys.session(userId, sessionId), Keys.user(userId)], {
      consistentRead: true,
    });
    const sessionItem = items.find((item) => item.SK === Keys.session(userId, sessionId).SK);
    const userItem = items.find((item) => item.SK === Keys.user(userId).SK);
    return {
      session: sessionItem && isLive(sessionItem) ? stripInternal<Session>(sessionItem) : undefined,
      user: userItem ? stripInternal<UserWithPassword>(userItem) : undefined,
    };
  }

  async find(userId: string, sessionId: string): Promise<Session | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.session(userId, sessionId), ConsistentRead: true }),
    );
    return result.Item && isLive(result.Item) ? stripInternal<Session>(result.Item) : undefined;
  }

  /** The user's live sessions, from one Query on the user's partition (paged internally). */
  async listForUser(userId: string): Promise<Session[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': Keys.userPartition(userId), ':prefix': Keys.sessionPrefix },
      ConsistentRead: true,
    });
    return items.filter((item) => isLive(item)).map((item) => stripInternal<Session>(item));
  }

  /**
   * Rotates the refresh token in one conditional write: it succeeds only while the presented
   * hash is the current one and the session has not expired, so of any number of concurrent
   * refreshes with one token, exactly one wins. Returns false when the condition failed.
   */
  async rotate(
    session: Session,
    presentedHash: string,
    next: { hash: string; expiresAt: string; usedAt: string },
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.session(session.userId, session.id),
          UpdateExpression:
            'SET refreshTokenHash = :next, previousTokenHashes = :previous, lastUsedAt = :now, expiresAt = :expiresAt, #ttl = :ttl ADD generation :one',
          ConditionExpression: 'refreshTokenHash = :presented AND expiresAt > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':next': next.hash,
            ':previous': [presentedHash, ...session.previousTokenHashes].slice(0, REMEMBERED_TOKENS),
            ':now': next.usedAt,
            ':expiresAt': next.expiresAt,
            ':ttl': epochSeconds(new Date(next.expiresAt)),
            ':presented': presentedHash,
            ':one': 1,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Revokes (deletes) one session; false when the user has no such session. */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: Keys.session(userId, sessionId),
          ConditionExpression: 'attribute_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Revokes every session of the user except `keepSessionId`, with batched deletes. */
  async revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    const sessions = (await this.listForUser(userId)).filter((s) => s.id !== keepSessionId);
    await batchWriteAll(
      this.db,
      this.tableName,
      sessions.map((s) => ({ DeleteRequest: { Key: Keys.session(userId, s.id) } })),
    );
    return sessions.length;
  }
}
