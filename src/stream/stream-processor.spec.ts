import { describe, expect, it } from '@jest/globals';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { Keys } from '../dynamo/keys.js';
import type { StreamRecord } from '../dynamo/stream-record.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import type { StreamHandler } from './stream-handler.js';
import { StreamProcessor } from './stream-processor.js';

const record = (key: { PK: string; SK: string }, seq: number): StreamRecord => ({
  eventName: 'MODIFY',
  dynamodb: { Keys: marshall(key), NewImage: marshall({ ...key, viewCount: seq }), SequenceNumber: String(seq) },
});

class Coalescing implements StreamHandler {
  readonly name = 'coalescing';
  readonly itemType = 'postViewShard' as const;
  readonly batches: string[][] = [];
  readonly single: string[] = [];
  constructor(private readonly fail = false) {}
  handle(change: ItemChange): Promise<void> {
    this.single.push(change.key.PK);
    return Promise.resolve();
  }
  handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    if (this.fail) return Promise.reject(new Error('fold failed'));
    this.batches.push(changes.map(({ id }) => id));
    return Promise.resolve();
  }
}

class PerRecord implements StreamHandler {
  readonly name = 'per-record';
  readonly itemType = 'post' as const;
  readonly seen: string[] = [];
  handle(_change: ItemChange, id: string): Promise<void> {
    this.seen.push(id);
    return Promise.resolve();
  }
}

const processor = (...handlers: StreamHandler[]) =>
  new StreamProcessor(handlers, new AppMetrics(), new SettableClock());

describe('StreamProcessor: handlers that take a batch at once', () => {
  const records = [
    record(Keys.postViewShard('p1', 0), 1),
    record(Keys.post('p9'), 2),
    record(Keys.postViewShard('p1', 1), 3),
    record(Keys.postViewShard('p2', 0), 4),
  ];

  it('get all of their records in one call, in stream order, and never one by one', async () => {
    const fold = new Coalescing();
    const posts = new PerRecord();
    expect(await processor(fold, posts).handleBatch(records)).toEqual({ handled: 4 });
    expect(fold.batches).toEqual([['p1', 'p1', 'p2']]);
    expect(fold.single).toEqual([]);
    expect(posts.seen).toEqual(['p9']);
  });

  it('fail the whole batch when they fail: nothing of it counts as handled', async () => {
    const posts = new PerRecord();
    const outcome = await processor(new Coalescing(true), posts).handleBatch(records);
    expect(outcome).toMatchObject({ handled: 0, failedAt: 0 });
    expect(posts.seen).toEqual([]);
  });
});
