import { Inject, Injectable, Logger } from '@nestjs/common';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { DYNAMODB_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { classifyKey } from '../dynamo/item-types.js';
import { failingCapMs, isTransientFailure } from './give-up.js';
import { StreamCheckpointsRepository } from './stream-checkpoints.repository.js';
import { StreamDeadLettersRepository } from './stream-dead-letters.repository.js';
import { StreamProcessor } from './stream-processor.js';
import type { StreamRecord } from '../dynamo/stream-record.js';
import { DYNAMODB_STREAMS_CLIENT } from './stream.constants.js';

/** Records per GetRecords call (the API's maximum). */
const RECORDS_PER_CALL = 1000;
/** Pause after a pass that found nothing, doubling up to the maximum. */
const IDLE_BASE_MS = 100;
const IDLE_MAX_MS = 2000;
/** How often the shard list is read again (shards split and close about every 4 hours on AWS). */
const DESCRIBE_EVERY_MS = 10_000;
/** A failing shard waits this long before its next attempt, doubling up to the maximum (the others go on). */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;

interface ShardState {
  id: string;
  parentId: string | undefined;
  /** The last sequence number handled (from the checkpoint, then from each batch). */
  sequenceNumber: string | undefined;
  finished: boolean;
  iterator: string | undefined;
  /** Since when it has kept failing, a record or a read (undefined while it makes progress). */
  failingSince: number | undefined;
  /** Consecutive errors on this shard (its backoff). */
  errors: number;
  /** Not read again before this time (epoch ms): the shard's own backoff. */
  retryAt: number;
  /** The record that keeps failing, and how many attempts it has had (for the dead-letter list). */
  failingSequence: string | undefined;
  /** Its failures that count towards the dead letter, in a row (a transient one starts them again). */
  attempts: number;
  /** All of its failures, transient ones included, and since when it has failed (epoch ms). */
  tries: number;
  recordFailingSince: number;
}

export interface StreamWorkerStatus {
  state: 'off' | 'running' | 'stalled';
  /** When the worker last finished a pass without a failing shard (ISO time). */
  lastProgressAt: string | undefined;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : '');
/** A pause that a stop cuts short. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
  });

/**
 * The local host of the stream processor: reads every shard of the table's stream with the
 * DynamoDB Streams API, a child shard only after its parent is finished (per-item order holds
 * across a split), hands each batch to the `StreamProcessor` and checkpoints the shard in the
 * table after the batch's work is done. After a restart it goes on after its checkpoints;
 * without one, from the oldest record kept (TRIM_HORIZON). At least once: a crash between the
 * work and the checkpoint delivers the batch again, which every handler tolerates.
 *
 * One poller per table: there is no lease between pollers (two would both do every effect,
 * harmlessly but twice). Production runs it as `npm run worker` or uses the Lambda handler.
 */
@Injectable()
export class StreamPoller {
  private readonly logger = new Logger(StreamPoller.name);
  private readonly shards = new Map<string, ShardState>();
  private streamArn: string | undefined;
  private describedAt = 0;
  private loop: Promise<void> | undefined;
  private stopping = new AbortController();
  private lastProgressAt: number | undefined;
  private startedAt: number | undefined;
  /** One pass at a time (the loop, or a `drain` from a test or a command). */
  private passing: Promise<number> | undefined;

  constructor(
    @Inject(DYNAMODB_STREAMS_CLIENT) private readonly streams: DynamoDBStreamsClient,
    @Inject(DYNAMODB_CLIENT) private readonly dynamo: DynamoDBClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly processor: StreamProcessor,
    private readonly checkpoints: StreamCheckpointsRepository,
    private readonly deadLetters: StreamDeadLettersRepository,
    private readonly metrics: AppMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Starts polling in the background (no-op when it runs already). */
  start(): void {
    if (this.loop) return;
    this.startedAt = this.clock.now().getTime();
    // Its metrics show in /metrics from the start; the stall is read when scraped.
    this.metrics.streamWorker(() => this.status().state === 'stalled');
    this.logger.log(`stream worker polling the stream of table ${this.tableName}`);
    this.loop = this.run();
  }

  /** Stops after the batch in hand is handled and checkpointed. */
  async stop(): Promise<void> {
    if (this.loop) {
      this.stopping.abort();
      await this.loop;
      this.loop = undefined;
      this.stopping = new AbortController();
    }
    // What a restart knows is what the checkpoints say: iterators, positions and the shard
    // listing are read afresh (without the listing, a restart would wait for the next one).
    this.shards.clear();
    this.describedAt = 0;
  }

  /**
   * Reads every shard until a pass finds no record (the table's changes so far are handled).
   * For tests and commands; the background loop must not be running.
   */
  async drain(maxPasses = 1000): Promise<void> {
    if (this.loop) throw new Error('drain() while the worker loop runs');
    this.describedAt = 0; // shards that opened since the last listing are read too
    for (let pass = 0; pass < maxPasses; pass++) {
      if ((await this.pass()) === 0 && !this.failing()) return;
      if (this.failing()) throw new Error('a stream record keeps failing; see the log');
    }
    throw new Error(`the stream was not drained in ${maxPasses} passes`);
  }

  /**
   * `stalled` when the loop has finished no clean pass (every shard readable, none failing) for
   * `STREAM_WORKER_STALL_SECONDS`.
   */
  status(): StreamWorkerStatus {
    if (!this.loop) return { state: 'off', lastProgressAt: undefined };
    const now = this.clock.now().getTime();
    const since = this.lastProgressAt ?? this.startedAt ?? now;
    const stalled = now - since > this.config.streamWorker.stallSeconds * 1000;
    return {
      state: stalled ? 'stalled' : 'running',
      lastProgressAt: this.lastProgressAt ? new Date(this.lastProgressAt).toISOString() : undefined,
    };
  }

  private async run(): Promise<void> {
    try {
      this.metrics.streamWorker().deadLetters.set(await this.deadLetters.count());
    } catch (error) {
      this.logger.warn(`stream worker could not count its dead letters: ${errorName(error)}`);
    }
    let idlePasses = 0;
    while (!this.stopping.signal.aborted) {
      let seen = 0;
      try {
        seen = await this.pass();
      } catch (error) {
        this.logger.warn(`stream worker pass failed: ${errorName(error)} ${(error as Error)?.message ?? ''}`);
      }
      idlePasses = seen > 0 && !this.failing() ? 0 : idlePasses + 1;
      if (idlePasses > 0) {
        await sleep(Math.min(IDLE_MAX_MS, IDLE_BASE_MS * 2 ** Math.min(idlePasses - 1, 5)), this.stopping.signal);
      }
    }
  }

  private failing(): boolean {
    return [...this.shards.values()].some((shard) => shard.failingSince !== undefined);
  }

  /** One read of every readable shard; the number of records it saw. */
  private pass(): Promise<number> {
    this.passing ??= this.passOnce().finally(() => (this.passing = undefined));
    return this.passing;
  }

  private async passOnce(): Promise<number> {
    if (!this.streamArn || this.clock.now().getTime() - this.describedAt > DESCRIBE_EVERY_MS) {
      await this.refreshShards();
    }
    let seen = 0;
    let finishedOne = true;
    // A shard read to its end makes its children readable: list the shards again and read them
    // in the same pass, so a pass that finds nothing means the stream is drained.
    while (finishedOne && !this.stopping.signal.aborted) {
      finishedOne = false;
      for (const shard of this.readableShards()) {
        if (this.stopping.signal.aborted) break;
        if (shard.retryAt > this.clock.now().getTime()) continue; // backing off, alone
        try {
          seen += await this.readShard(shard);
        } catch (error) {
          // One shard's error (throttling, a network fault) ends neither the pass nor the others' reading.
          this.logger.warn(
            `stream worker: shard ${shard.id} failed: ${errorName(error)} ${(error as Error)?.message ?? ''}`,
          );
          shard.iterator = undefined;
          this.failed(shard);
        }
        finishedOne ||= shard.finished;
      }
      if (finishedOne) await this.refreshShards();
    }
    if (!this.failing()) this.lastProgressAt = this.clock.now().getTime();
    return seen;
  }

  /** Shards not finished whose parent is finished or no longer listed (trimmed). */
  private readableShards(): ShardState[] {
    return [...this.shards.values()].filter((shard) => {
      if (shard.finished) return false;
      const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
      return parent === undefined || parent.finished;
    });
  }

  private async refreshShards(): Promise<void> {
    if (!this.streamArn) {
      const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }));
      this.streamArn = table.Table?.LatestStreamArn;
      if (!this.streamArn) throw new Error(`table ${this.tableName} has no stream`);
    }
    const listed: Shard[] = [];
    let ExclusiveStartShardId: string | undefined;
    do {
      const page = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId }),
      );
      listed.push(...(page.StreamDescription?.Shards ?? []));
      ExclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (ExclusiveStartShardId);
    const saved = await this.checkpoints.all();
    for (const shard of listed) {
      const id = shard.ShardId!;
      if (this.shards.has(id)) continue;
      const checkpoint = saved.get(id);
      this.shards.set(id, {
        id,
        parentId: shard.ParentShardId,
        sequenceNumber: checkpoint?.sequenceNumber,
        finished: checkpoint?.finished ?? false,
        iterator: undefined,
        failingSince: undefined,
        errors: 0,
        retryAt: 0,
        failingSequence: undefined,
        attempts: 0,
        tries: 0,
        recordFailingSince: 0,
      });
    }
    this.describedAt = this.clock.now().getTime();
  }

  private async iteratorFor(shard: ShardState): Promise<string | undefined> {
    const result = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shard.id,
        ...(shard.sequenceNumber
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.sequenceNumber }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return result.ShardIterator;
  }

  /**
   * One GetRecords of a shard, its batch handled and checkpointed; the number of records read.
   * An expired iterator or a trimmed checkpoint is followed at once by a read from the new
   * position: a read that found nothing must mean the shard has nothing (a drain relies on it).
   */
  private async readShard(shard: ShardState, retry = true): Promise<number> {
    let response;
    try {
      shard.iterator ??= await this.iteratorFor(shard);
      response = await this.streams.send(
        new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: RECORDS_PER_CALL }),
      );
    } catch (error) {
      shard.iterator = undefined;
      if (errorName(error) === 'ExpiredIteratorException') {
        // Iterators last 15 minutes: a new one from the checkpoint.
        if (retry) return this.readShard(shard, false);
        throw error;
      }
      if (errorName(error) === 'TrimmedDataAccessException') {
        // The checkpoint is older than the stream keeps (24 hours): what lay between is lost.
        this.logger.error(
          `shard ${shard.id}: records after the checkpoint were trimmed; going on from the oldest kept (run db:sweep-orphans)`,
        );
        this.metrics.streamWorker().trimmed.inc({ shard: shard.id });
        shard.sequenceNumber = undefined;
        if (retry) return this.readShard(shard, false);
        throw error;
      }
      if (errorName(error) === 'ResourceNotFoundException') {
        this.streamArn = undefined; // the table was re-created: a new stream
        this.shards.clear();
        return 0;
      }
      throw error;
    }
    const records = (response.Records ?? []) as StreamRecord[];
    const lag = this.metrics.streamWorker().lagSeconds;
    if (records.length > 0) {
      const outcome = await this.processor.handleBatch(records, shard.id);
      const done = records.slice(0, outcome.handled);
      if (done.length > 0) {
        const last = done[done.length - 1].dynamodb!.SequenceNumber!;
        // A batch of only checkpoint writes is not checkpointed: that write would be one more
        // record, and the worker would never fall idle. Such records are read again after a restart.
        if (done.some((record) => !isCheckpointRecord(record))) await this.checkpoints.advance(shard.id, last);
        shard.sequenceNumber = last;
      }
      if (outcome.failedAt !== undefined) {
        shard.iterator = undefined; // read again from the failed record, after the shard's backoff
        const failed = records[outcome.failedAt];
        const sequence = failed.dynamodb?.SequenceNumber;
        if (this.givesUp(shard, sequence, outcome.error)) {
          await this.deadLetter(shard, failed, outcome.error);
        } else {
          this.failed(shard);
        }
        return records.length;
      }
      this.recovered(shard);
    } else {
      lag.set({ shard: shard.id }, 0);
    }
    shard.iterator = response.NextShardIterator;
    if (records.length === 0) this.recovered(shard);
    if (!response.NextShardIterator) {
      // A closed shard read to its end: its children come next.
      await this.checkpoints.advance(shard.id, shard.sequenceNumber, true);
      shard.finished = true;
      lag.set({ shard: shard.id }, 0);
    }
    return records.length;
  }

  /**
   * Counts a failure of the record `sequence`; whether to give up on it (dead-letter it). A
   * database that is throttling, slow or away fails every record alike, and will recover: such a
   * failure does not count towards `STREAM_WORKER_MAX_ATTEMPTS`, or a short outage would
   * dead-letter the next record of every shard (cascades and erasures lost). Only failures that
   * would repeat (a bug, a malformed record) do. But a record that has failed for
   * `STREAM_WORKER_TRANSIENT_MAX_SECONDS`, transiently or not, is given up too (review 20a M1):
   * one record's "transient" failure that never ends (a mail relay deferring one recipient) must
   * not hold every later record of its shard for good.
   */
  private givesUp(shard: ShardState, sequence: string | undefined, error: unknown): boolean {
    const now = this.clock.now().getTime();
    if (sequence === undefined || sequence !== shard.failingSequence) {
      shard.failingSequence = sequence;
      shard.attempts = 0;
      shard.tries = 0;
      shard.recordFailingSince = now;
    }
    shard.tries++;
    shard.attempts = isTransientFailure(error) ? 0 : shard.attempts + 1;
    // A recipient's deferral is about one address: a shorter cap than a server's outage (review 20b M2).
    const cap = failingCapMs(error, this.config.streamWorker);
    return (
      sequence !== undefined &&
      (shard.attempts >= this.config.streamWorker.maxAttempts || now - shard.recordFailingSince >= cap)
    );
  }

  /** Gives up on a poison record: it goes to the dead-letter list and the shard moves past it. */
  private async deadLetter(shard: ShardState, record: StreamRecord, error: unknown): Promise<void> {
    const sequence = record.dynamodb!.SequenceNumber!;
    await this.deadLetters.add(shard.id, record, shard.tries, error);
    await this.checkpoints.advance(shard.id, sequence);
    shard.sequenceNumber = sequence;
    this.metrics.streamWorker().deadLetters.inc();
    this.logger.error(
      `stream record ${sequence} of shard ${shard.id} failed ${shard.tries} times in ${Math.round(
        (this.clock.now().getTime() - shard.recordFailingSince) / 1000,
      )} s: written to the dead-letter list, the shard goes on`,
    );
    this.recovered(shard);
  }

  /** The shard failed (a record or a read): it alone waits, longer each time. */
  private failed(shard: ShardState): void {
    const now = this.clock.now().getTime();
    shard.errors++;
    shard.failingSince ??= now;
    shard.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(shard.errors - 1, 10));
  }

  private recovered(shard: ShardState): void {
    shard.errors = 0;
    shard.retryAt = 0;
    shard.failingSince = undefined;
    shard.failingSequence = undefined;
    shard.attempts = 0;
    shard.tries = 0;
  }
}

function isCheckpointRecord(record: StreamRecord): boolean {
  const pk = record.dynamodb?.Keys?.PK?.S;
  const sk = record.dynamodb?.Keys?.SK?.S;
  return pk !== undefined && sk !== undefined && classifyKey({ PK: pk, SK: sk }).type === 'checkpoint';
}
