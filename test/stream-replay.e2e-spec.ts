import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Keys } from '../src/dynamo/keys.js';
import { PostCascadeHandler } from '../src/stream/handlers/post-cascade.handler.js';
import { StreamDeadLettersRepository } from '../src/stream/stream-dead-letters.repository.js';
import { LAMBDA_SHARD, LambdaDeadLetters } from '../src/stream/lambda-dead-letters.js';
import type { StreamRecord } from '../src/dynamo/stream-record.js';
import { StreamReplay } from '../src/stream/stream-replay.js';
import { processStream, streamRecords } from './helpers/stream.js';
import { toItemChange } from '../src/dynamo/stream-record.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { EventsRepository } from '../src/events/events.repository.js';
import { deferredPublicationId } from '../src/events/deferred-publication.js';
import { ADMIN_ENV, createTestApp, signInAdmin, signUp, type TestApp, SEEDING_TIMEOUT_MS } from './helpers/test-app.js';

jest.setTimeout(SEEDING_TIMEOUT_MS);

/** `npm run db:stream-replay`'s stream part: dead-lettered records read again from the stream and handled. */
describe('replaying stream dead letters (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // One failed attempt dead-letters a record, so the test needs no backoff to pass.
    t = await createTestApp({ STREAM_WORKER_MAX_ATTEMPTS: '1', ...ADMIN_ENV });
  });
  afterAll(async () => {
    await t.close();
  });

  const partition = async (postId: string) =>
    (
      await t.db.send(
        new QueryCommand({
          TableName: t.tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': Keys.postPartition(postId) },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];

  /** A published post of a new author with `comments` comments, its records handled. */
  const commentedPost = async (title: string, comments: number) => {
    const author = await signUp(t);
    const post = (
      await t.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title, content: 'x' }).expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    for (let i = 0; i < comments; i++) {
      await t.api
        .post(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', author.bearer)
        .send({ content: `c${i}` })
        .expect(201);
    }
    await processStream(t);
    return { author, post };
  };

  it('re-runs a dead-lettered post deletion through the processor: its children go, the dead letter too', async () => {
    const { author, post } = await commentedPost('Replayed', 3);

    // The cascade fails with a bug (not a database outage): the record is dead-lettered, the
    // shard goes on, the comments stay behind.
    const cascade = t.app.get(PostCascadeHandler);
    const spy = jest.spyOn(cascade, 'handle').mockRejectedValueOnce(new TypeError('a bug in the cascade'));
    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    await processStream(t);
    spy.mockRestore();
    const letters = await t.app.get(StreamDeadLettersRepository).all();
    expect(letters).toEqual([
      expect.objectContaining({ eventName: 'REMOVE', error: 'TypeError: a bug in the cascade' }),
    ]);
    expect((await partition(post.id)).length).toBeGreaterThan(3);

    const replay = t.app.get(StreamReplay);
    expect(await replay.replayStreamDeadLetters(true)).toHaveLength(1); // a dry run changes nothing
    expect(await t.app.get(StreamDeadLettersRepository).all()).toHaveLength(1);
    const results = await replay.replayStreamDeadLetters();
    expect(results).toEqual([
      {
        shardId: letters[0].shardId,
        sequenceNumber: letters[0].sequenceNumber,
        eventName: 'REMOVE',
        outcome: 'replayed',
      },
    ]);
    expect(await partition(post.id)).toEqual([expect.objectContaining({ SK: 'COUNTS' })]); // only the tombstone
    expect(await t.app.get(StreamDeadLettersRepository).all()).toEqual([]);
    expect(await replay.replayStreamDeadLetters()).toEqual([]);
  });

  it("replays the Lambda host's dead letter, which names no shard: the record is found by its sequence number (review 22 W)", async () => {
    const { author, post } = await commentedPost('Lambda gave up', 1);
    const spy = jest.spyOn(t.app.get(PostCascadeHandler), 'handle').mockRejectedValueOnce(new TypeError('a bug'));
    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    await processStream(t);
    spy.mockRestore();
    // The poller's dead letter, written again as the Lambda host writes it (no shard in a Lambda event).
    const repository = t.app.get(StreamDeadLettersRepository);
    const [letter] = await repository.all();
    await repository.remove(letter.shardId, letter.sequenceNumber);
    const record = JSON.parse(letter.record) as StreamRecord;
    expect(await t.app.get(LambdaDeadLetters).giveUp(record, new TypeError('a bug'))).toBe(true);
    expect(await repository.all()).toEqual([
      expect.objectContaining({ shardId: LAMBDA_SHARD, sequenceNumber: letter.sequenceNumber, eventName: 'REMOVE' }),
    ]);

    expect(await t.app.get(StreamReplay).replayStreamDeadLetters()).toEqual([
      { shardId: LAMBDA_SHARD, sequenceNumber: letter.sequenceNumber, eventName: 'REMOVE', outcome: 'replayed' },
    ]);
    expect(await partition(post.id)).toEqual([expect.objectContaining({ SK: 'COUNTS' })]);
    expect(await repository.all()).toEqual([]);
  });

  it('keeps a dead letter whose record fails again, and says why', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Failing twice', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await processStream(t);
    const cascade = t.app.get(PostCascadeHandler);
    const spy = jest.spyOn(cascade, 'handle').mockRejectedValue(new TypeError('still broken'));
    try {
      await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
      await processStream(t);
      const [result] = await t.app.get(StreamReplay).replayStreamDeadLetters();
      expect(result).toMatchObject({ outcome: 'failed', error: 'TypeError: still broken' });
      expect(await t.app.get(StreamDeadLettersRepository).all()).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    expect((await t.app.get(StreamReplay).replayStreamDeadLetters()).map((r) => r.outcome)).toEqual(['replayed']);
  });

  it('announces a publication or a comment handled late only if it still holds: nothing for a post deleted since, no text of a comment rejected since (review-3 #4)', async () => {
    const admin = await signInAdmin(t);
    const events = async () =>
      (
        (await t.api.get('/api/v1/admin/events?limit=100').set('authorization', admin.bearer).expect(200)).body as {
          items: { type: string; data: Record<string, unknown> }[];
        }
      ).items;
    const create = async (title: string) => {
      const post = (
        await t.api.post('/api/v1/posts').set('authorization', admin.bearer).send({ title, content: 'x' }).expect(201)
      ).body as { id: string };
      await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', admin.bearer).send({}).expect(200);
      return post;
    };

    // Published, then deleted before the processor got to the publication's record.
    const gone = await create('Published then deleted');
    await t.api.delete(`/api/v1/posts/${gone.id}`).set('authorization', admin.bearer).expect(204);
    // A live post with two approved comments (staff), one deleted and one rejected before processing.
    const live = await create('Live');
    const comment = async (content: string) =>
      (
        await t.api
          .post(`/api/v1/posts/${live.id}/comments`)
          .set('authorization', admin.bearer)
          .send({ content })
          .expect(201)
      ).body as { id: string; status: string };
    const deleted = await comment('deleted since');
    const rejected = await comment('rejected since');
    const kept = await comment('still approved');
    expect([deleted.status, rejected.status, kept.status]).toEqual(['approved', 'approved', 'approved']);
    await t.api
      .delete(`/api/v1/posts/${live.id}/comments/${deleted.id}`)
      .set('authorization', admin.bearer)
      .expect(204);
    await t.api
      .post(`/api/v1/posts/${live.id}/comments/${rejected.id}/moderate`)
      .set('authorization', admin.bearer)
      .send({ status: 'rejected' })
      .expect(200);
    await processStream(t);

    const listed = await events();
    const about = (id: string) => listed.filter((event) => event.data.id === id).map((event) => event.type);
    expect(about(gone.id)).toEqual(['post.deleted']); // no post.published for what is gone
    expect(about(live.id)).toEqual(['post.published']);
    expect(about(deleted.id)).toEqual([]);
    expect(listed.find((event) => event.data.id === rejected.id)?.data).toMatchObject({
      status: 'rejected',
      content: null,
    });
    expect(listed.find((event) => event.data.id === kept.id)?.data).toMatchObject({
      status: 'approved',
      content: 'still approved',
    });
  });
  it('replays a dead-lettered post.scheduled record: the held-back post.published stored once, the post.scheduled not again (session 22)', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Scheduled, replayed', content: 'x' })
        .expect(201)
    ).body as { id: string };
    const publishAt = new Date(t.clock.now().getTime() + 3600_000).toISOString();
    await t.api
      .post(`/api/v1/posts/${post.id}/publish`)
      .set('authorization', author.bearer)
      .send({ publishAt })
      .expect(200);
    const eventsOf = async () =>
      (await t.allItems())
        .filter(
          (item) =>
            item.entity === 'OutboundEvent' &&
            (String(item.payload).includes(post.id) || (item.heldBack as { postId?: string })?.postId === post.id),
        )
        // Held back: no body until its time (a dispatcher of the version before would send it unchecked).
        .map((item) => [item.id, item.type, item.heldBack ? (item.payload ?? 'held back') : 'stored']);
    // The record fails between its two events (the held-back one's write): dead-lettered.
    const events = t.app.get(EventsRepository);
    const record = events.record.bind(events);
    const spy = jest
      .spyOn(events, 'record')
      .mockImplementation((...args) =>
        args[4] ? Promise.reject(new TypeError('a bug after post.scheduled')) : record(...args),
      );
    await processStream(t);
    spy.mockRestore();
    expect((await eventsOf()).map(([, type]) => type)).toEqual(['post.scheduled']);
    const replay = t.app.get(StreamReplay);
    expect((await replay.replayStreamDeadLetters()).map((r) => r.outcome)).toEqual(['replayed']);
    const held = [deferredPublicationId(post.id, publishAt), 'post.published', 'held back'];
    expect(await eventsOf()).toEqual(expect.arrayContaining([held, [expect.any(String), 'post.scheduled', 'stored']]));
    expect(await eventsOf()).toHaveLength(2);
    // The same record once more (a second replay, a poller's retry): nothing new.
    const [letter] = (await t.allItems()).filter((item) => item.entity === 'StreamDeadLetter');
    expect(letter).toBeUndefined();
    await replayScheduleRecords(post.id);
    expect(await eventsOf()).toHaveLength(2);
  });

  /** The post's own records handled again, as a replay of them would. */
  async function replayScheduleRecords(postId: string): Promise<void> {
    const records = (await streamRecords(t)).filter((r) => toItemChange(r).key.PK === `POST#${postId}`);
    expect(records.length).toBeGreaterThan(0);
    await t.app.get(StreamProcessor).handleBatch(records);
  }

  // Last in the file: it moves the app's clock 31 days on.
  it('neither lists, counts nor replays a dead letter past its ttl, which DynamoDB may not have deleted yet (review 3, #7)', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Expiring letter', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await processStream(t);
    const cascade = t.app.get(PostCascadeHandler);
    const spy = jest.spyOn(cascade, 'handle').mockRejectedValueOnce(new TypeError('a bug'));
    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    await processStream(t);
    spy.mockRestore();
    const letters = t.app.get(StreamDeadLettersRepository);
    expect(await letters.all()).toHaveLength(1);
    expect(await letters.count()).toBe(1);

    t.clock.advance(31 * 24 * 3600 * 1000); // dead letters live 30 days
    expect(await letters.all()).toEqual([]);
    expect(await letters.count()).toBe(0);
    expect(await t.app.get(StreamReplay).replayStreamDeadLetters()).toEqual([]);
  });
});
