import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { countAll, queryAll } from '../dynamo/pagination.js';
import { DEAD_LETTER_TTL_SECONDS } from '../dynamo/replay-window.js';
import { sequencePosition, type StreamRecord } from '../dynamo/stream-record.js';

export interface StreamDeadLetter {
  shardId: string;
  sequenceNumber: string;
  eventName: string | undefined;
  attempts: number;
  error: string;
  failedAt: string;
  /**
   * The record's identity as JSON: event id and name, the changed item's keys, sequence number and
   * time. Never its images: they hold password hashes, emails and token hashes, which must not
   * outlive the item (an erasure would not reach them), and they can pass the 400 KB item limit.
   */
  record: string;
}

/**
 * Stream records the local poller gave up on (`STREAM_WORKER_MAX_ATTEMPTS` failed attempts), in one
 * partition of the table (`PK=STREAM#DEADLETTER`), so the shard moves on and an operator can see,
 * fix and replay them. Keyed by shard and sequence number: writing the same record twice is one item.
 */
@Injectable()
export class StreamDeadLettersRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async add(shardId: string, record: StreamRecord, attempts: number, error: unknown): Promise<void> {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '0';
    const json = JSON.stringify({
      eventID: record.eventID,
      eventName: record.eventName,
      dynamodb: {
        Keys: record.dynamodb?.Keys,
        SequenceNumber: record.dynamodb?.SequenceNumber,
        ApproximateCreationDateTime: record.dynamodb?.ApproximateCreationDateTime,
      },
    });
    const now = this.clock.now();
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...Keys.streamDeadLetter(shardId, sequencePosition(sequenceNumber)),
          entity: ENTITY.StreamDeadLetter,
          shardId,
          sequenceNumber,
          eventName: record.eventName,
          attempts,
          // The name and message only: a stack or the record's key could hold a token hash in a log.
          error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 1000) : String(error),
          failedAt: now.toISOString(),
          record: json,
          ttl: epochSeconds(now) + DEAD_LETTER_TTL_SECONDS,
        },
      }),
    );
  }

  /** Every dead letter not yet expired (one small partition). */
  async all(): Promise<StreamDeadLetter[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk',
      ...this.unexpired(),
      ConsistentRead: true,
    });
    return items.map((item) => ({
      shardId: item.shardId as string,
      sequenceNumber: item.sequenceNumber as string,
      eventName: item.eventName as string | undefined,
      attempts: item.attempts as number,
      error: item.error as string,
      failedAt: item.failedAt as string,
      record: item.record as string,
    }));
  }

  /** Removes one once its record's effect is done (`db:stream-replay`). */
  async remove(shardId: string, sequenceNumber: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: Keys.streamDeadLetter(shardId, sequencePosition(sequenceNumber)),
      }),
    );
  }

  /** How many there are (the `stream_worker_dead_letters` gauge at start-up). */
  async count(): Promise<number> {
    return countAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk',
      ...this.unexpired(),
    });
  }

  /**
   * DynamoDB's TTL deletes an expired item up to days later: until then it is still read, so it is
   * filtered out here, as everywhere a `ttl` item is read (review 3, #7). An expired dead letter is
   * neither listed, counted nor replayed.
   */
  private unexpired() {
    return {
      FilterExpression: '#ttl > :now',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':pk': Keys.streamDeadLetterPartition, ':now': epochSeconds(this.clock.now()) },
    };
  }
}
