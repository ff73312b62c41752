import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { ENTITY, Keys } from '../dynamo/keys.js';

/** The security notices already sent, one marker item per change of a user item. */
@Injectable()
export class NoticesSentRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /**
   * Claims a notice: true the first time for this user and notice, false when it was claimed
   * before (a replayed record, a second worker). The marker outlives the last replay of a
   * dead-lettered record (`until`), after which no record can come again.
   */
  async claim(userId: string, notice: string, at: Date, until: Date): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...Keys.noticeSent(userId, notice),
            entity: ENTITY.NoticeSent,
            sentAt: at.toISOString(),
            ttl: epochSeconds(until),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
