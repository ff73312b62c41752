import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { ENTITY, type ItemKey, Keys, normalizeEmail } from '../dynamo/keys.js';
import { putNewWhileOwnerExists } from '../dynamo/transactions.js';

const addressKey = (email: string, kind: string): ItemKey =>
  Keys.noticeToAddress(createHash('sha256').update(normalizeEmail(email)).digest('base64url'), kind);

/**
 * The security notices already sent, one marker item per change of a user item; and, for the
 * notices limited per recipient (review 22a L7), one item per address and kind.
 */
@Injectable()
export class NoticesSentRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /**
   * Claims a notice: the claim's id the first time for this user and notice, undefined when it was
   * claimed before (a replayed record, a second worker). The marker outlives the last replay of a
   * dead-lettered record (`until`), after which no record can come again.
   *
   * Undefined too when the user item is gone (review 14, L-C1): a record replayed after the user's
   * erasure must neither mail the erased address nor put a 31-day marker back into the erased
   * partition, so the marker's Put goes in one transaction with a check of the user item (as the
   * fan-in job's start does). A notice is rare: 2 WCU more (the check) per notice.
   */
  async claim(userId: string, notice: string, at: Date, until: Date): Promise<string | undefined> {
    const claimId = this.ids.next();
    const marker = {
      ...Keys.noticeSent(userId, notice),
      entity: ENTITY.NoticeSent,
      sentAt: at.toISOString(),
      claimId,
      ttl: epochSeconds(until),
    };
    return (await putNewWhileOwnerExists(this.db, this.tableName, marker, Keys.user(userId))) ? claimId : undefined;
  }

  /**
   * Gives a claimed notice back (review 18b L4): its mail could not be sent, so the record is to
   * be retried, and the retry must find the notice unclaimed. Only the claim `claimId` made (review
   * 19b L1): false, nothing deleted, when the marker is not that claim's any more (given back
   * already, as when the SDK retries a Delete whose first attempt landed, and perhaps claimed since
   * by another worker or a replay, whose claim stays).
   */
  release(userId: string, notice: string, claimId: string): Promise<boolean> {
    return this.releaseClaim(Keys.noticeSent(userId, notice), claimId);
  }

  /**
   * Claims the address's notice of `kind` for `at` (review 22a L7): the claim's id when none went to
   * the address since `since`, undefined otherwise. One conditional PutItem keyed by the address's
   * hash (`attribute_not_exists` or an older `sentAt`), about no user: it outlives an erasure by at
   * most its `ttl` (`until`), and names neither the account nor the address.
   */
  async claimForAddress(email: string, kind: string, at: Date, since: Date, until: Date): Promise<string | undefined> {
    const claimId = this.ids.next();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...addressKey(email, kind),
            entity: ENTITY.NoticeToAddress,
            sentAt: at.toISOString(),
            claimId,
            ttl: epochSeconds(until),
          },
          ConditionExpression: 'attribute_not_exists(PK) OR sentAt <= :since',
          ExpressionAttributeValues: { ':since': since.toISOString() },
        }),
      );
      return claimId;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /** Gives an address's claim back (its notice not sent, the record retried): only the claim `claimId` made. */
  releaseForAddress(email: string, kind: string, claimId: string): Promise<boolean> {
    return this.releaseClaim(addressKey(email, kind), claimId);
  }

  /** Deletes a marker only if `claimId` made it: false, nothing deleted, otherwise. */
  private async releaseClaim(key: ItemKey, claimId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'claimId = :mine',
          ExpressionAttributeValues: { ':mine': claimId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
