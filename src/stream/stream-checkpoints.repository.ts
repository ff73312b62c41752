import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { queryAll } from '../dynamo/pagination.js';
import { sequencePosition } from '../dynamo/stream-record.js';

export interface ShardCheckpoint {
  shardId: string;
  /** The last sequence number whose record was handled. */
  sequenceNumber: string | undefined;
  /** Read to its end (a closed shard): its children may be read. */
  finished: boolean;
}

/**
 * Where the local poller got in each shard, in the table itself (`PK=STREAM#CHECKPOINT`,
 * `SK=SHARD#<shardId>`). A checkpoint only moves forward: two pollers, or a retry of an old
 * batch, can never move it back.
 */
@Injectable()
export class StreamCheckpointsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Every shard's checkpoint (one small partition, read consistently). */
  async all(): Promise<Map<string, ShardCheckpoint>> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': Keys.streamCheckpointPartition },
      ConsistentRead: true,
    });
    return new Map(
      items.map((item) => [
        item.shardId as string,
        {
          shardId: item.shardId as string,
          sequenceNumber: item.sequenceNumber as string | undefined,
          finished: item.finished === true,
        },
      ]),
    );
  }

  /**
   * Records that the shard was handled up to `sequenceNumber` (and, with `finished`, to its
   * end). False when the stored checkpoint is already further.
   */
  async advance(shardId: string, sequenceNumber: string | undefined, finished = false): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':entity': ENTITY.StreamCheckpoint,
      ':shard': shardId,
      ':at': this.clock.now().toISOString(),
    };
    const sets = ['entity = :entity', 'shardId = :shard', 'updatedAt = :at'];
    let condition: string | undefined;
    if (sequenceNumber !== undefined) {
      sets.push('sequenceNumber = :seq', '#position = :position');
      values[':seq'] = sequenceNumber;
      values[':position'] = sequencePosition(sequenceNumber);
      condition = 'attribute_not_exists(#position) OR #position <= :position';
    }
    if (finished) {
      sets.push('finished = :finished');
      values[':finished'] = true;
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.streamCheckpoint(shardId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: sequenceNumber !== undefined ? { '#position': 'position' } : undefined,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
