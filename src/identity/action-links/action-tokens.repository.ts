import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../../dynamo/dynamo.constants.js';
import { epochSeconds } from '../../dynamo/expressions.js';
import { ENTITY, Keys, OwnedIndexKeys } from '../../dynamo/keys.js';

export type ActionTokenKind = 'password_reset' | 'email_verification';

export interface ActionToken {
  kind: ActionTokenKind;
  userId: string;
  /** The address the token was sent to (verification applies only while it is still the user's). */
  email: string;
  /** The password generation a reset link was issued for: a later password change kills it. */
  passwordGeneration: number;
  createdAt: string;
  expiresAt: string;
}

/** Single-use tokens for emailed links, stored by hash with a `ttl`. */
@Injectable()
export class ActionTokensRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  async create(hash: string, token: ActionToken): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...Keys.actionToken(hash),
          ...OwnedIndexKeys.actionToken(token.userId, token.createdAt),
          entity: ENTITY.ActionToken,
          ttl: epochSeconds(new Date(token.expiresAt)),
          ...token,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  }

  /**
   * Consumes a token: deletes it only if it exists, is of the expected kind and has not
   * expired, and returns what it held. A second use, a wrong kind or an expired token all
   * give undefined, and a token can never be used twice, even concurrently.
   */
  async consume(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    try {
      const result = await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: Keys.actionToken(hash),
          ConditionExpression: 'attribute_exists(PK) AND kind = :kind AND expiresAt > :now',
          ExpressionAttributeValues: { ':kind': kind, ':now': now.toISOString() },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const item = result.Attributes;
      return item
        ? {
            kind: item.kind as ActionTokenKind,
            userId: item.userId as string,
            email: item.email as string,
            passwordGeneration: Number(item.passwordGeneration ?? 0),
            createdAt: item.createdAt as string,
            expiresAt: item.expiresAt as string,
          }
        : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
}
