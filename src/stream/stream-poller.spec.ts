import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-dynamodb-streams';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { DYNAMODB_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { type BatchOutcome, StreamProcessor } from './stream-processor.js';
import { StreamCheckpointsRepository, type ShardCheckpoint } from './stream-checkpoints.repository.js';
import { StreamDeadLettersRepository } from './stream-dead-letters.repository.js';
import { NoticeNotSent } from '../mail/security-notices.js';
import { StreamPoller } from './stream-poller.js';
import type { StreamRecord } from '../dynamo/stream-record.js';
import { DYNAMODB_STREAMS_CLIENT } from './stream.constants.js';

const awsError = (name: string) => Object.assign(new Error(name), { name });

const record = (sequence: number): StreamRecord => ({
  eventName: 'MODIFY',
  dynamodb: {
    Keys: { PK: { S: `POST#p${sequence}` }, SK: { S: 'POST' } },
    SequenceNumber: String(sequence),
    ApproximateCreationDateTime: new Date('2026-11-26T05:00:00Z'),
  },
});

interface FakeShard {
  id: string;
  parent?: string;
  records: StreamRecord[];
  /** Closed shards end: their last GetRecords has no NextShardIterator. */
  closed: boolean;
  /** Records before this sequence number are past the stream's retention. */
  trimmedBefore?: number;
  /** Errors the next GetRecords calls of this shard throw, in order. */
  failReads: string[];
}

/**
 * The Streams API over in-memory shards: paged DescribeStream (one shard a page), iterators
 * that say where they point, trimmed records, and errors on demand.
 */
class FakeStreams {
  readonly shards: FakeShard[] = [];
  /** Iterators handed out before this are expired. */
  private expireBefore = 0;
  private issued = 0;

  /** Every iterator handed out so far expires (as after 15 minutes on AWS). */
  expireAll(): void {
    this.expireBefore = this.issued;
  }

  shard(id: string, sequences: number[], options: Partial<FakeShard> = {}): FakeShard {
    const shard = { id, records: sequences.map(record), closed: false, failReads: [], ...options };
    this.shards.push(shard);
    return shard;
  }

  send(command: unknown): Promise<unknown> {
    try {
      return Promise.resolve(this.answer(command));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private answer(command: unknown): unknown {
    if (command instanceof DescribeStreamCommand) {
      const start = command.input.ExclusiveStartShardId;
      const index = start ? this.shards.findIndex((shard) => shard.id === start) + 1 : 0;
      const shard = this.shards[index];
      return {
        StreamDescription: {
          Shards: shard ? [{ ShardId: shard.id, ParentShardId: shard.parent }] : [],
          LastEvaluatedShardId: index < this.shards.length - 1 ? shard.id : undefined,
        },
      };
    }
    if (command instanceof GetShardIteratorCommand) return { ShardIterator: this.iterator(command.input) };
    if (command instanceof GetRecordsCommand) {
      const [id, position, serial] = command.input.ShardIterator!.split('|');
      const shard = this.byId(id);
      const failure = shard.failReads.shift();
      if (failure) throw awsError(failure);
      if (Number(serial) < this.expireBefore) throw awsError('ExpiredIteratorException');
      const from = Number(position);
      const records = shard.records.slice(from, from + (command.input.Limit ?? 1000));
      const next = from + records.length;
      const ended = shard.closed && next >= shard.records.length;
      return { Records: records, NextShardIterator: ended ? undefined : this.at(shard, next) };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }

  private iterator(input: GetShardIteratorCommandInput): string {
    const shard = this.byId(input.ShardId!);
    const kept = shard.records.findIndex((r) => Number(r.dynamodb!.SequenceNumber) >= (shard.trimmedBefore ?? 0));
    const firstKept = kept < 0 ? shard.records.length : kept;
    if (input.ShardIteratorType === 'TRIM_HORIZON') return this.at(shard, firstKept);
    const after = Number(input.SequenceNumber);
    if (after < (shard.trimmedBefore ?? 0) - 1) throw awsError('TrimmedDataAccessException');
    const next = shard.records.findIndex((r) => Number(r.dynamodb!.SequenceNumber) > after);
    return this.at(shard, next < 0 ? shard.records.length : next);
  }

  private at(shard: FakeShard, position: number): string {
    return `${shard.id}|${position}|${this.issued++}`;
  }

  private byId(id: string): FakeShard {
    const shard = this.shards.find((s) => s.id === id);
    if (!shard) throw awsError('ResourceNotFoundException');
    return shard;
  }
}

/** The processor: records what it handled, in order, and fails on the poison sequence numbers. */
class FakeProcessor {
  readonly handled: string[] = [];
  readonly poison = new Set<string>();
  /** Sequence numbers whose handling meets a throttled database. */
  readonly throttled = new Set<string>();
  /** Sequence numbers whose handling fails with the error given. */
  readonly failing = new Map<string, unknown>();
  handleBatch(records: readonly StreamRecord[]): Promise<BatchOutcome> {
    for (let index = 0; index < records.length; index++) {
      const sequence = records[index].dynamodb!.SequenceNumber!;
      if (this.failing.has(sequence))
        return Promise.resolve({ handled: index, failedAt: index, error: this.failing.get(sequence) });
      if (this.poison.has(sequence))
        return Promise.resolve({ handled: index, failedAt: index, error: new Error('poison') });
      if (this.throttled.has(sequence))
        return Promise.resolve({
          handled: index,
          failedAt: index,
          error: awsError('ProvisionedThroughputExceededException'),
        });
      this.handled.push(sequence);
    }
    return Promise.resolve({ handled: records.length });
  }
}

class FakeCheckpoints {
  readonly saved = new Map<string, ShardCheckpoint>();
  all(): Promise<Map<string, ShardCheckpoint>> {
    return Promise.resolve(new Map(this.saved));
  }
  advance(shardId: string, sequenceNumber: string | undefined, finished = false): Promise<boolean> {
    const before = this.saved.get(shardId);
    this.saved.set(shardId, {
      shardId,
      sequenceNumber: sequenceNumber ?? before?.sequenceNumber,
      finished: finished || (before?.finished ?? false),
    });
    return Promise.resolve(true);
  }
}

class FakeDeadLetters {
  readonly added: { shardId: string; sequence: string; attempts: number }[] = [];
  add(shardId: string, failed: StreamRecord, attempts: number): Promise<void> {
    this.added.push({ shardId, sequence: failed.dynamodb!.SequenceNumber!, attempts });
    return Promise.resolve();
  }
  count(): Promise<number> {
    return Promise.resolve(this.added.length);
  }
}

describe('StreamPoller (a fake Streams API)', () => {
  let streams: FakeStreams;
  let processor: FakeProcessor;
  let checkpoints: FakeCheckpoints;
  let deadLetters: FakeDeadLetters;
  let metrics: AppMetrics;
  let clock: SettableClock;

  async function poller(maxAttempts = 3, transientMaxSeconds = 3600, deferralMaxSeconds = 900): Promise<StreamPoller> {
    const moduleRef = await Test.createTestingModule({
      providers: [
        StreamPoller,
        { provide: DYNAMODB_STREAMS_CLIENT, useValue: streams },
        {
          provide: DYNAMODB_CLIENT,
          useValue: {
            send: (command: unknown) =>
              command instanceof DescribeTableCommand
                ? Promise.resolve({ Table: { LatestStreamArn: 'arn:stream' } })
                : Promise.reject(new Error('unexpected')),
          },
        },
        { provide: DYNAMODB_TABLE_NAME, useValue: 'table' },
        {
          provide: APP_CONFIG,
          useValue: {
            streamWorker: { mode: 'off', stallSeconds: 60, maxAttempts, transientMaxSeconds, deferralMaxSeconds },
          } as AppConfig,
        },
        { provide: StreamProcessor, useValue: processor },
        { provide: StreamCheckpointsRepository, useValue: checkpoints },
        { provide: StreamDeadLettersRepository, useValue: deadLetters },
        { provide: AppMetrics, useValue: metrics },
        { provide: CLOCK, useValue: clock },
      ],
    }).compile();
    return moduleRef.get(StreamPoller);
  }
  const metric = async (pattern: RegExp) => pattern.exec(await metrics.render())?.[1];

  beforeEach(() => {
    streams = new FakeStreams();
    processor = new FakeProcessor();
    checkpoints = new FakeCheckpoints();
    deadLetters = new FakeDeadLetters();
    metrics = new AppMetrics();
    clock = new SettableClock().set('2026-11-26T05:00:00Z');
  });

  it('reads a child shard only after its parent, even when the listing names the child first', async () => {
    streams.shard('grandchild', [5], { parent: 'child' });
    streams.shard('child', [3, 4], { parent: 'parent', closed: true });
    streams.shard('parent', [1, 2], { closed: true });
    streams.shard('open-child', [6], { parent: 'grandchild' }); // its parent is still open: not read
    await (await poller()).drain();
    expect(processor.handled).toEqual(['1', '2', '3', '4', '5']);
    expect(checkpoints.saved.get('parent')).toEqual({ shardId: 'parent', sequenceNumber: '2', finished: true });
    expect(checkpoints.saved.get('grandchild')).toEqual({
      shardId: 'grandchild',
      sequenceNumber: '5',
      finished: false,
    });
    expect(checkpoints.saved.has('open-child')).toBe(false);
  });

  it('a child shard that opens after a pass is read once its parent ends', async () => {
    const parent = streams.shard('parent', [1]);
    const worker = await poller();
    await worker.drain();
    parent.records.push(record(2));
    parent.closed = true;
    streams.shard('child', [3], { parent: 'parent' });
    await worker.drain();
    expect(processor.handled).toEqual(['1', '2', '3']);
  });

  it('takes a new iterator from its checkpoint when the old one expired: nothing skipped, nothing twice', async () => {
    const shard = streams.shard('open', [1, 2]);
    const worker = await poller();
    await worker.drain();
    shard.records.push(record(3), record(4));
    streams.expireAll();
    await worker.drain();
    expect(processor.handled).toEqual(['1', '2', '3', '4']);
  });

  it('goes on from the oldest kept record when its checkpoint was trimmed, and counts it', async () => {
    streams.shard('old', [5, 6], { trimmedBefore: 5 });
    await checkpoints.advance('old', '2');
    await (await poller()).drain();
    expect(processor.handled).toEqual(['5', '6']);
    expect(await metric(/^stream_worker_trimmed_total\{shard="old"\} (\d+)$/m)).toBe('1');
  });

  it('writes a record that keeps failing to the dead-letter list after the attempts allowed, then goes on', async () => {
    streams.shard('s', [1, 2, 3]);
    processor.poison.add('2');
    const worker = await poller(3);
    for (let attempt = 1; attempt < 3; attempt++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      // The shard waits for its backoff: without the clock moving, nothing is tried again.
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(60_000);
    }
    expect(deadLetters.added).toEqual([]);
    await worker.drain();
    expect(deadLetters.added).toEqual([{ shardId: 's', sequence: '2', attempts: 3 }]);
    expect(processor.handled).toEqual(['1', '3']);
    expect(checkpoints.saved.get('s')?.sequenceNumber).toBe('3');
    expect(await metric(/^stream_worker_dead_letters (\d+)$/m)).toBe('1');
  });

  it('does not dead-letter a record that fails on a throttled database, however often within STREAM_WORKER_TRANSIENT_MAX_SECONDS; it is handled once the database recovers', async () => {
    streams.shard('s', [1, 2]);
    processor.throttled.add('1');
    const worker = await poller(2);
    for (let attempt = 1; attempt <= 6; attempt++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(60_000);
    }
    expect(deadLetters.added).toEqual([]);
    processor.throttled.clear();
    await worker.drain();
    expect(processor.handled).toEqual(['1', '2']);
    expect(deadLetters.added).toEqual([]);
  });

  it('a notice the mail server could not take for now (transient) does not dead-letter its record within STREAM_WORKER_TRANSIENT_MAX_SECONDS; any other failed notice does (review 19b M2)', async () => {
    streams.shard('s', [1, 2, 3]);
    processor.failing.set('1', new NoticeNotSent('email_changed (transient) not sent', true));
    processor.failing.set('2', new NoticeNotSent('email_changed (unknown) not sent', false));
    const worker = await poller(2);
    for (let attempt = 1; attempt <= 6; attempt++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(60_000);
    }
    expect(deadLetters.added).toEqual([]);
    processor.failing.delete('1'); // the mail server is back
    for (let attempt = 1; attempt <= 2; attempt++) {
      await worker.drain().catch(() => undefined);
      clock.advance(60_000);
    }
    expect(processor.handled).toEqual(['1', '3']);
    expect(deadLetters.added).toEqual([{ shardId: 's', sequence: '2', attempts: 2 }]);
  });

  it('dead-letters a record that has failed only transiently for STREAM_WORKER_TRANSIENT_MAX_SECONDS, and the shard goes on (review 20a M1)', async () => {
    streams.shard('s', [1, 2, 3]);
    // A relay that defers one recipient for ever: each try is "transient".
    processor.failing.set('2', new NoticeNotSent('password_changed (transient) not sent', true));
    const worker = await poller(2, 600);
    for (let minute = 0; minute < 10; minute++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(59_000);
    }
    // 9 min 50 s after its first failure, 10 tries: still retried.
    expect(deadLetters.added).toEqual([]);
    expect(processor.handled).toEqual(['1']);
    clock.advance(10_000);
    await worker.drain();
    expect(deadLetters.added).toEqual([{ shardId: 's', sequence: '2', attempts: 11 }]);
    expect(processor.handled).toEqual(['1', '3']);
    expect(checkpoints.saved.get('s')?.sequenceNumber).toBe('3');
    expect(worker.status().state).toBe('off');
  });

  it('a recipient deferred by the relay (RCPT TO 4xx) is retried past STREAM_WORKER_MAX_ATTEMPTS for STREAM_WORKER_DEFERRAL_MAX_SECONDS, then dead-lettered, the shard going on (review 20b M2)', async () => {
    streams.shard('s', [1, 2, 3]);
    processor.failing.set('2', new NoticeNotSent('password_changed (deferred) not sent', true, true));
    const worker = await poller(2, 3600, 300);
    // Greylisting lasts minutes: 5 tries in 4 min 40 s are not the 2 attempts an unknown failure gets.
    for (let attempt = 0; attempt < 5; attempt++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(70_000);
    }
    expect(deadLetters.added).toEqual([]);
    // Past its cap (5 min, not the transient hour), given up.
    clock.advance(30_000);
    await worker.drain();
    expect(deadLetters.added).toEqual([{ shardId: 's', sequence: '2', attempts: 6 }]);
    expect(processor.handled).toEqual(['1', '3']);
  });

  it('a deferral that ends within its cap sends the notice: the record is handled, nothing dead-lettered (review 20b M2)', async () => {
    streams.shard('s', [1, 2]);
    processor.failing.set('1', new NoticeNotSent('email_changed (deferred) not sent', true, true));
    const worker = await poller(2, 3600, 900);
    for (let attempt = 0; attempt < 4; attempt++) {
      await expect(worker.drain()).rejects.toThrow(/keeps failing/);
      clock.advance(60_000);
    }
    processor.failing.delete('1'); // greylisting over
    await worker.drain();
    expect(processor.handled).toEqual(['1', '2']);
    expect(deadLetters.added).toEqual([]);
  });

  it('a record that fails and then succeeds is not dead-lettered, and the attempts start again', async () => {
    streams.shard('s', [1, 2]);
    processor.poison.add('1');
    const worker = await poller(2);
    await expect(worker.drain()).rejects.toThrow(/keeps failing/);
    processor.poison.clear();
    clock.advance(60_000);
    await worker.drain();
    expect(processor.handled).toEqual(['1', '2']);
    expect(deadLetters.added).toEqual([]);
  });

  it('an error on one shard neither ends the pass for the others nor delays them', async () => {
    streams.shard('a', [1], { failReads: ['ProvisionedThroughputExceededException', 'InternalServerError'] });
    streams.shard('b', [2]);
    const worker = await poller();
    await expect(worker.drain()).rejects.toThrow(/keeps failing/);
    expect(processor.handled).toEqual(['2']);
    clock.advance(60_000);
    await expect(worker.drain()).rejects.toThrow(/keeps failing/); // the second error, after its backoff
    clock.advance(60_000);
    await worker.drain();
    expect(processor.handled).toEqual(['2', '1']);
  });
});
