import { readFileSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../common/clock/clock.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import type { StreamItemType } from '../dynamo/item-types.js';
import { createStreamHandler, type DynamoDBStreamEvent } from './lambda-batch.js';
import { LAMBDA_SHARD, LambdaDeadLetters } from './lambda-dead-letters.js';
import { StreamDeadLettersRepository } from './stream-dead-letters.repository.js';
import type { StreamRecord } from '../dynamo/stream-record.js';
import type { StreamHandler } from './stream-handler.js';
import { StreamProcessor } from './stream-processor.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import { STREAM_HANDLERS } from './stream.constants.js';
import { loadConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CommentIndexKeys, type ItemKey } from '../dynamo/keys.js';
import { ActionLinksService } from '../identity/action-links/action-links.service.js';
import {
  type ActionToken,
  ActionTokensRepository,
  type MintResult,
} from '../identity/action-links/action-tokens.repository.js';
import { InMemoryMailer } from '../mail/in-memory.mailer.js';
import { MAILER } from '../mail/mailer.js';
import { NoticesSentRepository } from '../mail/notices-sent.repository.js';
import { MarkerStore } from '../mail/notices-sent.testing.js';
import { SecurityNotices } from '../mail/security-notices.js';
import { TransactionalMailHandler } from './handlers/transactional-mail.handler.js';
import { UsersRepository } from '../users/users.repository.js';

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

  it("is a recording of today's moderation queue: a pending comment's images carry its shard (migration 0011)", () => {
    const images = recorded().Records.flatMap((record) => [record.dynamodb?.NewImage, record.dynamodb?.OldImage]);
    const queued = images.filter((image) => image?.entity?.S === 'Comment' && image.GSI1PK !== undefined);
    expect(queued).toHaveLength(2);
    for (const image of queued) {
      const [id, postId, createdAt] = [image!.id.S!, image!.postId.S!, image!.createdAt.S!];
      expect(image!.GSI1PK.S).toBe(CommentIndexKeys.moderation({ id, postId, createdAt }).GSI1PK);
    }
  });

  it('reports nothing for an empty batch', async () => {
    const handler = await handlerWith(new FakeHandler('post'));
    expect(await handler({ Records: [] })).toEqual({ batchItemFailures: [] });
  });
});

describe('Lambda handler: dead letters (recorded stream events, review 22 W)', () => {
  /** The dead-letter items as the repository would write them, by shard and sequence number. */
  class FakeDeadLetters {
    readonly added: { shardId: string; sequenceNumber: string | undefined; attempts: number; error: string }[] = [];
    failing = false;
    add(shardId: string, record: StreamRecord, attempts: number, error: unknown): Promise<void> {
      if (this.failing) return Promise.reject(new Error('ProvisionedThroughputExceededException'));
      this.added.push({ shardId, sequenceNumber: record.dynamodb?.SequenceNumber, attempts, error: String(error) });
      return Promise.resolve();
    }
  }

  /** The post's REMOVE (the third record) fails with `error`; the comment's records go through. */
  async function lambdaWith(error: () => Error, at = '2026-11-26T02:35:00Z') {
    const clock = new SettableClock().set(new Date(at));
    const posts = new FakeHandler('post', (change) => {
      if (change.event === 'REMOVE') throw error();
      return false;
    });
    const comments = new FakeHandler('comment');
    const letters = new FakeDeadLetters();
    const metrics = new AppMetrics();
    const moduleRef = await Test.createTestingModule({
      providers: [
        StreamProcessor,
        LambdaDeadLetters,
        { provide: STREAM_HANDLERS, useValue: [posts, comments] },
        { provide: StreamDeadLettersRepository, useValue: letters },
        { provide: AppMetrics, useValue: metrics },
        { provide: CLOCK, useValue: clock },
        {
          provide: APP_CONFIG,
          useValue: loadConfig({
            NODE_ENV: 'test',
            STREAM_WORKER_MAX_ATTEMPTS: '3',
            STREAM_WORKER_TRANSIENT_MAX_SECONDS: '600',
          }),
        },
      ],
    }).compile();
    const handler = createStreamHandler(
      async () => moduleRef.get(StreamProcessor),
      async () => moduleRef.get(LambdaDeadLetters),
    );
    return { handler, clock, posts, comments, letters, metrics };
  }
  const failuresFrom = (sequence: string) =>
    recorded()
      .Records.map((record) => record.dynamodb!.SequenceNumber!)
      .filter((s) => s >= sequence)
      .map((itemIdentifier) => ({ itemIdentifier }));
  const commentEvents = (handler: FakeHandler) => handler.seen.map(({ change }) => change.event);

  it('dead-letters a record failing with a bug after STREAM_WORKER_MAX_ATTEMPTS, and handles the rest of its batch', async () => {
    const { handler, comments, letters, metrics } = await lambdaWith(() => new TypeError('a bug in the cascade'));
    // Attempts 1 and 2: Lambda retries from the failing record (and the records after it wait).
    for (let attempt = 1; attempt < 3; attempt++) {
      expect(await handler(recorded())).toEqual({ batchItemFailures: failuresFrom('000000000000000000024') });
    }
    expect(letters.added).toEqual([]);
    expect(commentEvents(comments)).toEqual(['INSERT', 'INSERT']);
    // The third: written where db:stream-replay reads (the shard found by its sequence number), the comment's REMOVE handled.
    expect(await handler(recorded())).toEqual({ batchItemFailures: [] });
    expect(letters.added).toEqual([
      {
        shardId: LAMBDA_SHARD,
        sequenceNumber: '000000000000000000024',
        attempts: 3,
        error: 'TypeError: a bug in the cascade',
      },
    ]);
    expect(commentEvents(comments)).toEqual(['INSERT', 'INSERT', 'INSERT', 'REMOVE']);
    expect((await metrics.render()).split('\n')).toContain('stream_worker_dead_letters 1');
  });

  it('retries a record failing transiently until it is STREAM_WORKER_TRANSIENT_MAX_SECONDS old, then dead-letters it', async () => {
    const transient = () => Object.assign(new Error('mail server away'), { transient: true as const });
    const { handler, clock, comments, letters } = await lambdaWith(transient);
    // 60 s after the write: a transient failure counts no attempt, however often it comes.
    for (let attempt = 0; attempt < 5; attempt++) {
      expect(await handler(recorded())).toEqual({ batchItemFailures: failuresFrom('000000000000000000024') });
    }
    clock.set(new Date('2026-11-26T02:43:59Z')); // 599 s
    expect(await handler(recorded())).toEqual({ batchItemFailures: failuresFrom('000000000000000000024') });
    expect(letters.added).toEqual([]);
    clock.set(new Date('2026-11-26T02:44:00Z')); // 600 s after its write
    expect(await handler(recorded())).toEqual({ batchItemFailures: [] });
    expect(letters.added.map((l) => [l.sequenceNumber, l.attempts])).toEqual([['000000000000000000024', 7]]);
    expect(commentEvents(comments).at(-1)).toBe('REMOVE');
  });

  it('reports the record for a retry while its dead letter cannot be written', async () => {
    const { handler, letters, comments } = await lambdaWith(() => new TypeError('a bug'));
    letters.failing = true;
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await handler(recorded())).toEqual({ batchItemFailures: failuresFrom('000000000000000000024') });
    }
    expect(commentEvents(comments)).toEqual(['INSERT', 'INSERT', 'INSERT']);
    letters.failing = false;
    expect(await handler(recorded())).toEqual({ batchItemFailures: [] });
    expect(letters.added.map((l) => l.attempts)).toEqual([4]);
  });

  it('does not dead-letter a record older than the cap at a passing throttle: STREAM_WORKER_MAX_ATTEMPTS tries first', async () => {
    const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { handler, letters } = await lambdaWith(throttled, '2026-11-26T04:00:00Z'); // 5160 s after its write
    for (let attempt = 1; attempt < 3; attempt++) {
      expect(await handler(recorded())).toEqual({ batchItemFailures: failuresFrom('000000000000000000024') });
    }
    expect(letters.added).toEqual([]);
    expect(await handler(recorded())).toEqual({ batchItemFailures: [] });
    expect(letters.added.map((l) => l.attempts)).toEqual([3]);
  });
});

describe('Lambda handler: transactional mail (recorded stream events)', () => {
  /**
   * Records of a real run (a registration, a reset request, a password change), the user's
   * partition only: the user's INSERT, two mail requests' INSERTs, the user's MODIFY.
   */
  const mailEvent = (): DynamoDBStreamEvent =>
    JSON.parse(
      readFileSync(new URL('./fixtures/transactional-mail.event.json', import.meta.url), 'utf8'),
    ) as DynamoDBStreamEvent;

  /**
   * The mint and the notice claim as DynamoDB's conditions make them: once per request (again only
   * to resend, until its mail is sent: `used`), once per notice (until given back).
   */
  class FakeStore extends MarkerStore {
    readonly minted: ActionToken[] = [];
    private readonly tokens = new Map<string, ActionToken>();
    mint(hash: string, token: ActionToken, request: ItemKey): Promise<MintResult> {
      const key = `${request.PK}/${request.SK}`;
      if (this.used.has(key)) return Promise.resolve('gone');
      if (this.tokens.has(hash)) return Promise.resolve('minted_before');
      this.tokens.set(hash, token);
      this.minted.push(token);
      return Promise.resolve('minted');
    }
    find(hash: string): Promise<ActionToken | undefined> {
      return Promise.resolve(this.tokens.get(hash));
    }
    settle(request: ItemKey): Promise<void> {
      this.used.add(`${request.PK}/${request.SK}`);
      return Promise.resolve();
    }
  }

  /** The account as the processor reads it now: Ada, active, at the address of the records; or gone. */
  const ada = { id: 'x', email: 'ada@example.com', status: 'active' };
  async function lambdaWith(at: string, account: object | null = ada) {
    const store = new FakeStore();
    const mailer = new InMemoryMailer();
    const metrics = new AppMetrics();
    const moduleRef = await Test.createTestingModule({
      providers: [
        StreamProcessor,
        TransactionalMailHandler,
        ActionLinksService,
        SecurityNotices,
        { provide: STREAM_HANDLERS, inject: [TransactionalMailHandler], useFactory: (h: StreamHandler) => [h] },
        { provide: ActionTokensRepository, useValue: store },
        { provide: NoticesSentRepository, useValue: store },
        { provide: UsersRepository, useValue: { findById: () => Promise.resolve(account ?? undefined) } },
        { provide: MAILER, useValue: mailer },
        { provide: AppMetrics, useValue: metrics },
        { provide: CLOCK, useValue: new SettableClock().set(new Date(at)) },
        { provide: APP_CONFIG, useValue: loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://blog.example' }) },
      ],
    }).compile();
    return { handler: createStreamHandler(async () => moduleRef.get(StreamProcessor)), store, mailer, metrics };
  }

  it('mints and mails both links and sends the password notice; the same event again sends nothing more', async () => {
    const { handler, store, mailer } = await lambdaWith('2026-11-26T18:16:00Z');
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(mailer.outbox.map((m) => [m.kind, m.to])).toEqual([
      ['email_verification', 'ada@example.com'],
      ['password_reset', 'ada@example.com'],
      ['password_changed', 'ada@example.com'],
    ]);
    expect(mailer.last('ada@example.com', 'password_reset')!.link).toMatch(
      /^https:\/\/blog\.example\/reset-password\?token=[A-Za-z0-9_-]{43}$/,
    );
    // The reset link is bound to the password generation of the request's time.
    expect(store.minted.map((m) => [m.kind, m.passwordGeneration])).toEqual([
      ['email_verification', 0],
      ['password_reset', 0],
    ]);
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(mailer.outbox).toHaveLength(3);
  });

  it('counts a notice the mailer refused as failed (review 4, #8) and reports its record for a retry (review 18b L4)', async () => {
    const { handler, mailer, metrics } = await lambdaWith('2026-11-26T19:16:00Z');
    const send = mailer.send.bind(mailer);
    mailer.send = () => Promise.reject(new Error('mail server down'));
    // The user item's record: Lambda retries from it, and the notice, its marker given back, goes out then.
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [{ itemIdentifier: '000000000000000000009' }] });
    mailer.send = send;
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(mailer.outbox.map((m) => m.kind)).toEqual(['password_changed']);
    const { values } = await metrics.mailDeliveries().get();
    expect(values.map(({ labels, value }) => [labels.kind, labels.outcome, value])).toEqual([
      ['password_changed', 'failed', 1],
      ['password_changed', 'sent', 1],
    ]);
  });

  it('reports a link mail the relay greylisted for a retry (session 22): the retry mails the same link, once', async () => {
    const { handler, mailer, store } = await lambdaWith('2026-11-26T18:16:00Z');
    const send = mailer.send.bind(mailer);
    const tried: (string | undefined)[] = [];
    mailer.send = (mail) => {
      tried.push(mail.link);
      return Promise.reject(
        Object.assign(new Error('450 4.2.0 greylisted'), { responseCode: 450, command: 'RCPT TO' }),
      );
    };
    // The verification's record and every one after it: Lambda retries from it.
    expect((await handler(mailEvent())).batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      '000000000000000000007',
      '000000000000000000008',
      '000000000000000000009',
    ]);
    mailer.send = send;
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(mailer.outbox.map((m) => m.kind)).toEqual(['email_verification', 'password_reset', 'password_changed']);
    expect(mailer.outbox[0].link).toBe(tried[0]);
    expect(store.minted.map((m) => m.kind)).toEqual(['email_verification', 'password_reset']);
  });

  it('an hour later (the link lifetime) the requests are stale: only the notice goes out', async () => {
    const { handler, store, mailer } = await lambdaWith('2026-11-26T19:16:00Z');
    expect(await handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(mailer.outbox.map((m) => m.kind)).toEqual(['password_changed']);
    expect(store.minted).toEqual([]);
  });

  it('sends nothing to an account erased since, nor to an address that is no longer its own (review 4, #3)', async () => {
    const erased = await lambdaWith('2026-11-26T18:16:00Z', null);
    expect(await erased.handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(erased.mailer.outbox).toEqual([]);
    expect(erased.store.minted).toEqual([]);
    const moved = await lambdaWith('2026-11-26T18:16:00Z', { ...ada, email: 'ada@elsewhere.example' });
    expect(await moved.handler(mailEvent())).toEqual({ batchItemFailures: [] });
    expect(moved.mailer.outbox.map((m) => m.kind)).toEqual(['password_changed']); // the notice goes to the account
    expect(moved.store.minted).toEqual([]);
    const deactivated = await lambdaWith('2026-11-26T18:16:00Z', { ...ada, status: 'inactive' });
    await deactivated.handler(mailEvent());
    expect(deactivated.mailer.outbox.map((m) => m.kind)).toEqual(['email_verification', 'password_changed']);
    // Deactivated by its owner, its address verified: the reset is how the owner gets it back (review 22a M1).
    const byOwner = { ...ada, status: 'inactive', deactivatedBy: 'owner', emailVerified: true };
    const verified = await lambdaWith('2026-11-26T18:16:00Z', byOwner);
    await verified.handler(mailEvent());
    expect(verified.mailer.outbox.map((m) => m.kind)).toEqual([
      'email_verification',
      'password_reset',
      'password_changed',
    ]);
    // Never verified: the address may be anyone's, so no reset (review 23 L-3).
    const unverified = await lambdaWith('2026-11-26T18:16:00Z', { ...byOwner, emailVerified: false });
    await unverified.handler(mailEvent());
    expect(unverified.mailer.outbox.map((m) => m.kind)).toEqual(['email_verification', 'password_changed']);
  });
});
