import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { putNewWhileOwnerExists } from '../dynamo/transactions.js';

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
   *
   * False too when the user item is gone (review 14, L-C1): a record replayed after the user's
   * erasure must neither mail the erased address nor put a 31-day marker back into the erased
   * partition, so the marker's Put goes in one transaction with a check of the user item (as the
   * fan-in job's start does). A notice is rare: 2 WCU more (the check) per notice.
   */
  claim(userId: string, notice: string, at: Date, until: Date): Promise<boolean> {
    const marker = {
      ...Keys.noticeSent(userId, notice),
      entity: ENTITY.NoticeSent,
      sentAt: at.toISOString(),
      ttl: epochSeconds(until),
    };
    return putNewWhileOwnerExists(this.db, this.tableName, marker, Keys.user(userId));
  }

  /**
   * Gives a claimed notice back (review 18b L4): its mail could not be sent, so the record is to
   * be retried, and the retry must find the notice unclaimed.
   */
  async release(userId: string, notice: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: Keys.noticeSent(userId, notice) }));
  }
}
