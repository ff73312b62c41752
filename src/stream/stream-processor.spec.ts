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
  /**
   * Fails every batch holding a record of post `fail`, every batch when true, or every batch of
   * two records or more when `'batch'` (as a fold over DynamoDB's expression limit did).
   */
  constructor(private readonly fail: boolean | string = false) {}
  handle(change: ItemChange): Promise<void> {
    this.single.push(change.key.PK);
    return Promise.resolve();
  }
  handleBatch(changes: readonly { change: ItemChange; id: string }[]): Promise<void> {
    if (
      this.fail === true ||
      (this.fail === 'batch' && changes.length > 1) ||
      changes.some(({ id }) => id === this.fail)
    )
      return Promise.reject(new Error('fold failed'));
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

  it('when they fail on the first record, nothing of the batch counts as handled', async () => {
    const posts = new PerRecord();
    const outcome = await processor(new Coalescing(true), posts).handleBatch(records);
    expect(outcome).toMatchObject({ handled: 0, failedAt: 0 });
    expect(posts.seen).toEqual([]);
  });

  it('when only the whole batch fails (no record fails alone), its coalesced work is done record by record and the batch goes on: no innocent record is blamed (review 20a M2)', async () => {
    const posts = new PerRecord();
    const fold = new Coalescing('batch');
    const outcome = await processor(fold, posts).handleBatch(records);
    expect(outcome).toEqual({ handled: 4 });
    expect(posts.seen).toEqual(['p9']);
    expect(fold.batches).toEqual([['p1'], ['p1'], ['p2']]);
  });

  it('report the record that fails alone, with the records before it handled (review 12, M4)', async () => {
    const posts = new PerRecord();
    const fold = new Coalescing('p2');
    const outcome = await processor(fold, posts).handleBatch(records);
    // The host retries, then dead-letters, record 3 (post p2's shard), not record 0.
    expect(outcome).toMatchObject({ handled: 3, failedAt: 3, error: new Error('fold failed') });
    expect(posts.seen).toEqual(['p9']);
    expect(fold.batches).toEqual([['p1'], ['p1']]);
  });
});
