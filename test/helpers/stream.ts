import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { TestApp } from './test-app.js';
import { DYNAMODB_CLIENT } from '../../src/dynamo/dynamo.constants.js';
import type { StreamRecord } from '../../src/dynamo/stream-record.js';
import { StreamCheckpointsRepository } from '../../src/stream/stream-checkpoints.repository.js';
import { StreamPoller } from '../../src/stream/stream-poller.js';
import { DYNAMODB_STREAMS_CLIENT } from '../../src/stream/stream.constants.js';

/**
 * Runs the app's stream poller until the suite's table's stream has nothing new: what a test
 * does after a write whose effects the stream processor carries out (tests run with
 * `STREAM_WORKER=off`, so no poller runs unless a test asks).
 */
export async function processStream(t: TestApp): Promise<void> {
  await t.app.get(StreamPoller).drain();
}

/** Every record still in the suite's table's stream, read straight from the Streams API, in shard order. */
export async function streamRecords(t: TestApp): Promise<StreamRecord[]> {
  return [...(await recordsByShard(t)).values()].flat();
}

/**
 * Marks every record now in the stream as handled without handling it (the poller's checkpoints
 * moved to each shard's last record): for items a test seeds in bulk whose records need no work
 * of the processor's (their handlers would do nothing the test looks at), and would cost it
 * thousands of calls before the work it measures.
 */
export async function skipStream(t: TestApp): Promise<void> {
  const checkpoints = t.app.get(StreamCheckpointsRepository);
  for (const [shardId, records] of await recordsByShard(t)) {
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last) await checkpoints.advance(shardId, last);
  }
  // The poller forgets its positions, so its next drain starts from the checkpoints.
  await t.app.get(StreamPoller).stop();
}

async function recordsByShard(t: TestApp): Promise<Map<string, StreamRecord[]>> {
  const streams = t.app.get<DynamoDBStreamsClient>(DYNAMODB_STREAMS_CLIENT);
  const table = await t.app
    .get<DynamoDBClient>(DYNAMODB_CLIENT)
    .send(new DescribeTableCommand({ TableName: t.tableName }));
  const StreamArn = table.Table!.LatestStreamArn!;
  const shards = (await streams.send(new DescribeStreamCommand({ StreamArn }))).StreamDescription?.Shards ?? [];
  const byShard = new Map<string, StreamRecord[]>();
  for (const shard of shards) {
    const records: StreamRecord[] = [];
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records.push(...((page.Records ?? []) as StreamRecord[]));
      iterator = (page.Records ?? []).length > 0 ? page.NextShardIterator : undefined;
    }
    byShard.set(shard.ShardId!, records);
  }
  return byShard;
}
