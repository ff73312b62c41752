import { jest } from '@jest/globals';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CursorCodec } from '../dynamo/cursor.js';
import { Keys } from '../dynamo/keys.js';
import { deferredPublicationId } from './deferred-publication.js';
import { EventsRepository } from './events.repository.js';

const AT = '2026-12-01T09:00:00.000Z';
const NOW = new Date('2026-12-01T09:00:05.000Z');
const ID = deferredPublicationId('p1', AT);
const heldBack = { postId: 'p1', publishedAt: AT, authorId: 'u1' };
const post = {
  ...Keys.post('p1'),
  id: 'p1',
  title: 'T',
  slug: 't',
  authorId: 'u1',
  status: 'published',
  publishedAt: AT,
  version: 4,
};
const canceled = (...codes: string[]) =>
  Object.assign(new Error('canceled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const conditionFailed = () => Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });

/**
 * `payloads` of a held-back post.published on a scripted client: the event item as stored, the post
 * as it is now, what the settling transaction and update answer, and the event as another instance
 * left it (read back after a failed condition).
 */
function setUp(script: {
  event?: Record<string, unknown>;
  post?: Record<string, unknown>;
  transact?: () => Promise<unknown>;
  update?: () => Promise<unknown>;
  settled?: Record<string, unknown>;
}) {
  const sent: unknown[] = [];
  const db = {
    send: jest.fn((command: { input: Record<string, unknown> }) => {
      sent.push(command);
      if (command instanceof BatchGetCommand)
        return Promise.resolve({
          Responses: { table: [script.event ?? { ...Keys.outboundEvent(ID), id: ID, heldBack }] },
        });
      if (command instanceof GetCommand) {
        const key = command.input.Key as { PK: string };
        return Promise.resolve({ Item: key.PK.startsWith('POST#') ? script.post : script.settled });
      }
      if (command instanceof TransactWriteCommand) return (script.transact ?? (() => Promise.resolve({})))();
      if (command instanceof UpdateCommand) return (script.update ?? (() => Promise.resolve({})))();
      return Promise.reject(new Error('unexpected call'));
    }),
  };
  const repository = new EventsRepository(
    db as unknown as DynamoDBDocumentClient,
    'table',
    new CursorCodec('a cursor secret long enough to be a key'),
  );
  const of = <T>(type: new (...args: never[]) => T) => sent.filter((c): c is T => c instanceof type);
  return { repository, of };
}

describe('EventsRepository.payloads: a scheduled post’s held-back post.published at its time', () => {
  it('stores the post as it is now, lists it, and checks the author in the same transaction', async () => {
    const { repository, of } = setUp({ post });
    const bodies = await repository.payloads([ID], NOW);
    const body = JSON.parse(bodies.get(ID)!) as { type: string; occurredAt: string; data: Record<string, unknown> };
    expect(body).toMatchObject({ type: 'post.published', occurredAt: AT, data: { id: 'p1', title: 'T', version: 4 } });
    const [transaction] = of(TransactWriteCommand);
    const [update, check] = transaction.input.TransactItems!;
    expect(update.Update?.ConditionExpression).toBe('attribute_exists(#heldBack)');
    expect(Object.values(update.Update?.ExpressionAttributeValues ?? {})).toContain(bodies.get(ID));
    expect(Object.values(update.Update?.ExpressionAttributeNames ?? {})).toEqual(
      expect.arrayContaining(['payload', 'GSI1PK', 'GSI1SK', 'heldBack']),
    );
    expect(check.ConditionCheck).toMatchObject({
      Key: Keys.user('u1'),
      ConditionExpression: 'attribute_exists(PK) AND NOT (#status IN (:suspended, :inactive))',
    });
  });

  it('sends what another instance settled first (its body, or nothing if it withdrew it)', async () => {
    const theirs = { ...Keys.outboundEvent(ID), id: ID, payload: '{"theirs":true}' };
    const first = setUp({
      post,
      transact: () => Promise.reject(canceled('ConditionalCheckFailed', 'None')),
      settled: theirs,
    });
    expect((await first.repository.payloads([ID], NOW)).get(ID)).toBe('{"theirs":true}');
    const withdrawn = { ...theirs, withdrawn: 'post rescheduled' };
    const second = setUp({
      post,
      transact: () => Promise.reject(canceled('ConditionalCheckFailed', 'None')),
      settled: withdrawn,
    });
    const reasons = new Map<string, string>();
    expect((await second.repository.payloads([ID], NOW, reasons)).has(ID)).toBe(false);
    // The reason it was withdrawn with, for the deliveries' lastError (session 23).
    expect(reasons.get(ID)).toBe('post rescheduled');
    // Erased with its author meanwhile: nothing to read back, nothing sent.
    const third = setUp({ post, transact: () => Promise.reject(canceled('ConditionalCheckFailed', 'None')) });
    expect((await third.repository.payloads([ID], NOW)).has(ID)).toBe(false);
  });

  it('withdraws it when the author is suspended, deactivated or gone, or the post moved', async () => {
    const suspended = setUp({ post, transact: () => Promise.reject(canceled('None', 'ConditionalCheckFailed')) });
    const reasons = new Map<string, string>();
    expect((await suspended.repository.payloads([ID], NOW, reasons)).has(ID)).toBe(false);
    expect(reasons.get(ID)).toBe('author suspended, deactivated or erased');
    expect(suspended.of(UpdateCommand)[0].input.ExpressionAttributeValues).toEqual(
      expect.objectContaining({ ':u0': 'author suspended, deactivated or erased' }),
    );
    const moved = setUp({ post: { ...post, publishedAt: '2026-12-02T09:00:00.000Z' } });
    expect((await moved.repository.payloads([ID], NOW, reasons)).has(ID)).toBe(false);
    expect(reasons.get(ID)).toBe('post rescheduled or published at another time');
    expect(moved.of(TransactWriteCommand)).toHaveLength(0);
    expect(moved.of(UpdateCommand)).toHaveLength(1);
    // Another instance sent it meanwhile (its withdrawal's condition failed): that body goes out.
    const raced = setUp({
      post: undefined,
      update: () => Promise.reject(conditionFailed()),
      settled: { ...Keys.outboundEvent(ID), id: ID, payload: '{"sent":true}' },
    });
    expect((await raced.repository.payloads([ID], NOW)).get(ID)).toBe('{"sent":true}');
  });

  it('reads nothing more for one withdrawn already, and sends a settled one as stored', async () => {
    const gone = setUp({ event: { ...Keys.outboundEvent(ID), id: ID, withdrawn: 'post rescheduled' } });
    const reasons = new Map<string, string>();
    expect((await gone.repository.payloads([ID], NOW, reasons)).size).toBe(0);
    expect(reasons.get(ID)).toBe('post rescheduled');
    expect(gone.of(GetCommand)).toHaveLength(0);
    const sent = setUp({ event: { ...Keys.outboundEvent(ID), id: ID, payload: '{"stored":1}' } });
    expect((await sent.repository.payloads([ID], NOW)).get(ID)).toBe('{"stored":1}');
    expect(sent.of(GetCommand)).toHaveLength(0);
  });
});
