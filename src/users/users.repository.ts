import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conflict } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { stripInternal } from '../dynamo/items.js';
import { ENTITY, Keys, UserIndexKeys } from '../dynamo/keys.js';
import { transactWrite, type TransactItem } from '../dynamo/transactions.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { buildUpdate } from '../dynamo/expressions.js';
import type { Profile, User, UserAggregate, UserWithPassword } from './user.entity.js';

type Item = Record<string, unknown>;

function toUser(item: Item): User {
  const { passwordHash: _hidden, ...user } = stripInternal<UserWithPassword>(item);
  return user;
}

/** Persistence of users, profiles and their uniqueness items. The only code that speaks DynamoDB for them. */
@Injectable()
export class UsersRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /**
   * Writes the user, the profile and the email and username uniqueness items in one
   * transaction: a taken email or username fails the whole write (409), so two concurrent
   * registrations of one email can never both succeed.
   */
  async create(user: UserWithPassword, profile: Profile, alsoWrite: TransactItem[] = []): Promise<void> {
    const TableName = this.tableName;
    const notExists = 'attribute_not_exists(PK)';
    await transactWrite(this.db, [
      {
        item: {
          Put: {
            TableName,
            Item: {
              ...Keys.user(user.id),
              ...UserIndexKeys.allUsers(user.createdAt, user.id),
              entity: ENTITY.User,
              ...user,
            },
            ConditionExpression: notExists,
          },
        },
      },
      {
        item: {
          Put: {
            TableName,
            Item: { ...Keys.profile(user.id), entity: ENTITY.Profile, ...profile },
            ConditionExpression: notExists,
          },
        },
      },
      {
        item: {
          Put: {
            TableName,
            Item: { ...Keys.uniqueEmail(user.email), entity: ENTITY.Unique, kind: 'email', userId: user.id },
            ConditionExpression: notExists,
          },
        },
        onConditionFailed: () => conflict(ErrorCode.EmailTaken, 'An account with this email already exists.'),
      },
      {
        item: {
          Put: {
            TableName,
            Item: { ...Keys.uniqueUsername(user.username), entity: ENTITY.Unique, kind: 'username', userId: user.id },
            ConditionExpression: notExists,
          },
        },
        onConditionFailed: () => conflict(ErrorCode.UsernameTaken, 'This username is taken.'),
      },
      ...alsoWrite.map((item) => ({ item })),
    ]);
  }

  /** The login bookkeeping, to run in the same transaction as the new session. */
  recordLoginItem(userId: string, at: string): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: Keys.user(userId),
        UpdateExpression: 'SET lastLoginAt = :at ADD loginCount :one',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':at': at, ':one': 1 },
      },
    };
  }

  /** Replaces the password hash; the version rises so that stale writes fail. */
  async setPassword(userId: string, passwordHash: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: Keys.user(userId),
        ...buildUpdate({
          set: { passwordHash, updatedAt: at },
          add: { version: 1 },
          condition: { expression: 'attribute_exists(PK)' },
        }),
      }),
    );
  }

  /**
   * Marks the email verified, only while it is still the user's email (an email change in
   * between makes the old link useless). `activate` also moves a `pending` user to `active`,
   * on condition that it is still pending. False when a condition failed.
   */
  async markEmailVerified(userId: string, email: string, at: string, activate: boolean): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.user(userId),
          ...buildUpdate({
            set: { emailVerified: true, emailVerifiedAt: at, updatedAt: at, ...(activate ? { status: 'active' } : {}) },
            add: { version: 1 },
            condition: activate
              ? {
                  expression: 'email = :email AND #status = :pending',
                  names: { '#status': 'status' },
                  values: { ':email': email, ':pending': 'pending' },
                }
              : { expression: 'email = :email', values: { ':email': email } },
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
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
    return { user: toUser(userItem), profile };
  }

  /** Strongly consistent read of the user item with its password hash (login, password change). */
  async findWithPassword(userId: string): Promise<UserWithPassword | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.user(userId), ConsistentRead: true }),
    );
    return result.Item ? stripInternal<UserWithPassword>(result.Item) : undefined;
  }

  /** Resolves an email to a user id through its uniqueness item (strongly consistent). */
  async findIdByEmail(email: string): Promise<string | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.uniqueEmail(email), ConsistentRead: true }),
    );
    return result.Item?.userId as string | undefined;
  }
}
