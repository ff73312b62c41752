import { Inject, Injectable } from '@nestjs/common';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DYNAMODB_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { sequencePosition, type StreamRecord } from '../dynamo/stream-record.js';
import { EventsRepository } from '../events/events.repository.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { LAMBDA_SHARD } from './lambda-dead-letters.js';
import { type StreamDeadLetter, StreamDeadLettersRepository } from './stream-dead-letters.repository.js';
import { StreamProcessor } from './stream-processor.js';
import { DYNAMODB_STREAMS_CLIENT } from './stream.constants.js';

/** Empty pages followed at most before a record is taken as no longer in the stream. */
const MAX_EMPTY_PAGES = 5;
const DEAD_DELIVERIES_PAGE = 100;

/** What happened to one stream dead letter. */
export interface StreamReplayResult {
  shardId: string;
  sequenceNumber: string;
  eventName: string | undefined;
  /** `replayed`: handled and removed; `failed`: it failed again (kept); `gone`: no longer in the stream (kept). */
  outcome: 'replayed' | 'failed' | 'gone';
  error?: string;
}

/**
 * `npm run db:stream-replay` (docs/streams.md, "Replaying dead letters"). Two kinds of dead letter:
 * - **webhook deliveries** given up on after 8 attempts: each is sent again, as the admin endpoint
 *   does (pending, a fresh 8 attempts; the running worker's dispatcher delivers it);
 * - **stream records** the poller gave up on (`PK=STREAM#DEADLETTER`): the dead letter holds the
 *   record's position, not its images, so the record is read again from the stream by its shard
 *   and sequence number and handed to the same `StreamProcessor.handleBatch` as the hosts use.
 *   Every handler is idempotent, so a replay after the effect was partly done finishes it, and
 *   handlers that announce something (outbound events) check that it still holds first. A record
 *   handled is removed from the list; one that fails again stays; one past the stream's retention
 *   (24 hours on AWS) cannot be replayed and stays too: its cascade is for `db:sweep-orphans`.
 */
@Injectable()
export class StreamReplay {
  constructor(
    @Inject(DYNAMODB_STREAMS_CLIENT) private readonly streams: DynamoDBStreamsClient,
    @Inject(DYNAMODB_CLIENT) private readonly dynamo: DynamoDBClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly processor: StreamProcessor,
    private readonly deadLetters: StreamDeadLettersRepository,
    private readonly events: EventsRepository,
    private readonly metrics: AppMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Every stream dead letter, oldest position first per shard; with `dryRun` only listed. */
  async replayStreamDeadLetters(dryRun = false): Promise<StreamReplayResult[]> {
    const letters = await this.deadLetters.all();
    if (dryRun || letters.length === 0)
      return letters.map((letter) => this.result(letter, 'failed', 'not run (dry run)'));
    const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${this.tableName} has no stream`);
    const results: StreamReplayResult[] = [];
    for (const letter of letters) {
      const record = await this.readRecord(streamArn, letter);
      if (!record) {
        results.push(
          this.result(letter, 'gone', 'no longer in the stream (past its retention, or the stream was re-created)'),
        );
        continue;
      }
      const outcome = await this.processor.handleBatch([record], 'replay');
      if (outcome.failedAt !== undefined) {
        const error =
          outcome.error instanceof Error ? `${outcome.error.name}: ${outcome.error.message}` : String(outcome.error);
        results.push(this.result(letter, 'failed', error));
        continue;
      }
      await this.deadLetters.remove(letter.shardId, letter.sequenceNumber);
      results.push(this.result(letter, 'replayed'));
    }
    this.metrics.streamWorker().deadLetters.set(await this.deadLetters.count());
    return results;
  }

  /** Every dead webhook delivery sent again; how many were taken back (with `dryRun`: how many there are). */
  async replayWebhookDeadLetters(dryRun = false): Promise<number> {
    // Listed in full first, then replayed: a replayed delivery leaves the dead partition, which
    // would move a cursor taken before it.
    const dead: { eventId: string; target: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.events.listDeadLetters(DEAD_DELIVERIES_PAGE, cursor, this.clock.now());
      dead.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    if (dryRun) return dead.length;
    let replayed = 0;
    for (const { eventId, target } of dead) {
      if ((await this.events.replayDead(eventId, target, this.clock.now())) === 'replayed') replayed++;
    }
    return replayed;
  }

  /**
   * The record at the dead letter's position, read again from its shard; undefined when it is gone.
   * The Lambda host's dead letters name no shard (`LAMBDA_SHARD`): the record is looked for in each
   * shard of the stream whose sequence number range holds it (one `DescribeStream` page per 100
   * shards, then a read per such shard until one has it).
   */
  private async readRecord(streamArn: string, letter: StreamDeadLetter): Promise<StreamRecord | undefined> {
    if (letter.shardId !== LAMBDA_SHARD) return this.readAt(streamArn, letter.shardId, letter.sequenceNumber);
    for (const shardId of await this.shardsHolding(streamArn, letter.sequenceNumber)) {
      const record = await this.readAt(streamArn, shardId, letter.sequenceNumber).catch((error: unknown) => {
        // A sequence number of another shard in this one's range: not here.
        if (error instanceof Error && /ValidationException|InvalidArgument/.test(error.name)) return undefined;
        throw error;
      });
      if (record) return record;
    }
    return undefined;
  }

  /** The shards whose sequence number range holds `sequenceNumber` (an open shard's has no end). */
  private async shardsHolding(streamArn: string, sequenceNumber: string): Promise<string[]> {
    const position = sequencePosition(sequenceNumber);
    const found: string[] = [];
    let after: string | undefined;
    do {
      const { StreamDescription } = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: after }),
      );
      for (const { ShardId, SequenceNumberRange: range } of StreamDescription?.Shards ?? []) {
        const starts = range?.StartingSequenceNumber;
        const ends = range?.EndingSequenceNumber;
        if (
          ShardId &&
          (!starts || sequencePosition(starts) <= position) &&
          (!ends || position <= sequencePosition(ends))
        )
          found.push(ShardId);
      }
      after = StreamDescription?.LastEvaluatedShardId;
    } while (after);
    return found;
  }

  /** The record `sequenceNumber` of `shardId`; undefined when it is gone. */
  private async readAt(streamArn: string, shardId: string, sequenceNumber: string): Promise<StreamRecord | undefined> {
    let iterator: string | undefined;
    try {
      iterator = (
        await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            SequenceNumber: sequenceNumber,
          }),
        )
      ).ShardIterator;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TrimmedDataAccessException' || name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    for (let page = 0; iterator && page < MAX_EMPTY_PAGES; page++) {
      const response = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
      const [record] = (response.Records ?? []) as StreamRecord[];
      if (record) return record.dynamodb?.SequenceNumber === sequenceNumber ? record : undefined;
      iterator = response.NextShardIterator;
    }
    return undefined;
  }

  private result(letter: StreamDeadLetter, outcome: StreamReplayResult['outcome'], error?: string): StreamReplayResult {
    return {
      shardId: letter.shardId,
      sequenceNumber: letter.sequenceNumber,
      eventName: letter.eventName,
      outcome,
      ...(error ? { error } : {}),
    };
  }
}
