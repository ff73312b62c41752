import { readFileSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../common/clock/clock.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import type { StreamItemType } from '../dynamo/item-types.js';
import { createStreamHandler, type DynamoDBStreamEvent } from './lambda-batch.js';
import type { StreamHandler } from './stream-handler.js';
import { StreamProcessor } from './stream-processor.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import { STREAM_HANDLERS } from './stream.constants.js';

/**
 * Records read from DynamoDB Local's stream of a real run (a post created, commented on and
 * deleted), in the event format Lambda delivers: creation times in epoch seconds.
 */
const recorded = (): DynamoDBStreamEvent =>
  JSON.parse(
    readFileSync(new URL('./fixtures/post-deleted.event.json', import.meta.url), 'utf8'),
  ) as DynamoDBStreamEvent;
const POST_ID = 'dPtGeo9NA7FzLthRSDegq';

/** A handler that records what it saw and fails on the changes `poison` picks. */
class FakeHandler implements StreamHandler {
  readonly name = 'fake';
  readonly seen: { change: ItemChange; id: string }[] = [];
  constructor(
    readonly itemType: StreamItemType,
    private readonly poison: (change: ItemChange) => boolean = () => false,
  ) {}
  handle(change: ItemChange, id: string): Promise<void> {
    if (this.poison(change)) return Promise.reject(new Error('poison record'));
    this.seen.push({ change, id });
    return Promise.resolve();
  }
}

describe('Lambda handler (recorded stream events)', () => {
  let metrics: AppMetrics;

  async function handlerWith(...handlers: StreamHandler[]) {
    metrics = new AppMetrics();
    const moduleRef = await Test.createTestingModule({
      providers: [
        StreamProcessor,
        { provide: STREAM_HANDLERS, useValue: handlers },
        { provide: AppMetrics, useValue: metrics },
        { provide: CLOCK, useValue: new SettableClock().set(new Date('2026-11-26T02:35:00Z')) },
      ],
    }).compile();
    return createStreamHandler(async () => moduleRef.get(StreamProcessor));
  }

  const records = async () =>
    (await metrics.render()).split('\n').filter((line) => line.startsWith('stream_worker_records_total'));

  it('dispatches each record by the item type of its key, in order, and reports no failure', async () => {
    const posts = new FakeHandler('post');
    const handler = await handlerWith(posts, new FakeHandler('user'));
    expect(await handler(recorded())).toEqual({ batchItemFailures: [] });
    // The post's INSERT and REMOVE; the comment records are no post's.
    expect(posts.seen.map(({ change, id }) => [change.event, id])).toEqual([
      ['INSERT', POST_ID],
      ['REMOVE', POST_ID],
    ]);
    const removed = posts.seen[1].change;
    expect(removed.oldImage).toEqual(expect.objectContaining({ id: POST_ID, title: 'Smoke', status: 'published' }));
    expect(removed.newImage).toBeUndefined();
    expect(removed.at).toEqual(new Date(1795660440 * 1000));
    expect(await records()).toEqual([
      'stream_worker_records_total{event="INSERT",outcome="ok"} 2',
      'stream_worker_records_total{event="REMOVE",outcome="ok"} 2',
    ]);
  });

  it('reports a poison record and every record after it in batchItemFailures, and leaves those unhandled', async () => {
    const posts = new FakeHandler('post', (change) => change.event === 'REMOVE');
    const handler = await handlerWith(posts);
    const event = recorded();
    const result = await handler(event);
    // The post's REMOVE is the third record: Lambda retries from it, the comment's REMOVE included.
    expect(result.batchItemFailures).toEqual(
      event.Records.slice(2).map((record) => ({ itemIdentifier: record.dynamodb!.SequenceNumber })),
    );
    expect(posts.seen.map(({ change }) => change.event)).toEqual(['INSERT']);
    expect(await records()).toEqual([
      'stream_worker_records_total{event="INSERT",outcome="ok"} 2',
      'stream_worker_records_total{event="REMOVE",outcome="error"} 1',
    ]);
  });

  it('reports a malformed record (no key) as a failure instead of skipping it', async () => {
    const handler = await handlerWith(new FakeHandler('post'));
    const event = recorded();
    delete event.Records[1].dynamodb!.Keys;
    expect((await handler(event)).batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      '000000000000000000020',
      '000000000000000000024',
      '000000000000000000029',
    ]);
  });

  it('reports nothing for an empty batch', async () => {
    const handler = await handlerWith(new FakeHandler('post'));
    expect(await handler({ Records: [] })).toEqual({ batchItemFailures: [] });
  });
});
