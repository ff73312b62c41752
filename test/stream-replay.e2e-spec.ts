import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Keys } from '../src/dynamo/keys.js';
import { PostCascadeHandler } from '../src/stream/handlers/post-cascade.handler.js';
import { StreamDeadLettersRepository } from '../src/stream/stream-dead-letters.repository.js';
import { StreamReplay } from '../src/stream/stream-replay.js';
import { processStream } from './helpers/stream.js';
import { createTestApp, signUp, type TestApp, SEEDING_TIMEOUT_MS } from './helpers/test-app.js';

jest.setTimeout(SEEDING_TIMEOUT_MS);

/** `npm run db:stream-replay`'s stream part: dead-lettered records read again from the stream and handled. */
describe('replaying stream dead letters (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // One failed attempt dead-letters a record, so the test needs no backoff to pass.
    t = await createTestApp({ STREAM_WORKER_MAX_ATTEMPTS: '1' });
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

  it('re-runs a dead-lettered post deletion through the processor: its children go, the dead letter too', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Replayed', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    for (let i = 0; i < 3; i++) {
      await t.api
        .post(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', author.bearer)
        .send({ content: `c${i}` })
        .expect(201);
    }
    await processStream(t);

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
});
