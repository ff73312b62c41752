import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Keys } from '../src/dynamo/keys.js';
import { classifyKey } from '../src/dynamo/item-types.js';
import { PostsRepository } from '../src/posts/posts.repository.js';
import { shardIncrement } from '../src/posts/view-shards.js';
import { StreamDeadLettersRepository } from '../src/stream/stream-dead-letters.repository.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { toItemChange } from '../src/dynamo/stream-record.js';
import { processStream, streamRecords } from './helpers/stream.js';
import { createTestApp, publishPost, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

/** Few shards, so that 30 views reuse each of them (a shard's count goes past 1). */
const SHARDS = 4;

/**
 * Issue 15: a viral post's views. A view adds 1 to one of VIEW_COUNTER_SHARDS shard items, each
 * in a partition of its own; the stream processor folds the shards into the post's counter item,
 * which is what every read reads (src/posts/view-shards.ts).
 */
describe('view counter shards (e2e)', () => {
  let t: TestApp;
  let author: SignedIn;

  beforeAll(async () => {
    // Anonymous viewers are told apart by address (not user agent: review 19a M2), sent as the proxy's header.
    t = await createTestApp({ VIEW_COUNTER_SHARDS: String(SHARDS), TRUST_PROXY_HOPS: '1' });
    author = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const newPost = async () => {
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Viral', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).expect(200);
    await processStream(t);
    return post;
  };
  /** A distinct client address per viewer name. */
  const addresses = new Map<string, string>();
  const addressOf = (viewer: string) => {
    if (!addresses.has(viewer)) addresses.set(viewer, `10.9.${addresses.size >> 8}.${addresses.size & 255}`);
    return addresses.get(viewer)!;
  };
  const view = (postId: string, viewer: string) =>
    t.api.post(`/api/v1/posts/${postId}/views`).set('x-forwarded-for', addressOf(viewer));
  const viewCount = async (postId: string) =>
    (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.viewCount as number;
  const shardItems = async (postId: string) =>
    (await Promise.all(Array.from({ length: SHARDS }, (_, n) => t.getItem(`VIEWS#${postId}#${n}`, 'VIEWS')))).filter(
      (item) => item !== undefined,
    );
  const viewShardRecords = async (postId: string) =>
    (await streamRecords(t)).filter((record) => {
      const change = toItemChange(record);
      const { type, id } = classifyKey(change.key);
      return type === 'postViewShard' && id === postId;
    });

  it('counts views on shard partitions, and readers see them once the stream folded them in', async () => {
    const post = await newPost();
    const responses = [];
    for (let i = 0; i < 30; i++) responses.push(await view(post.id, `viewer-${i}`).expect(200));
    // The answer is the count read plus this view: nothing folded yet, so 1 each time.
    expect(responses.map((res) => (res.body as { viewCount: number }).viewCount)).toEqual(
      Array.from({ length: 30 }, () => 1),
    );

    // The views wrote their shards, not the post's partition.
    const shards = await shardItems(post.id);
    expect(shards.length).toBeGreaterThan(1);
    expect(shards.reduce((sum, item) => sum + (item.viewCount as number), 0)).toBe(30);
    expect(await t.getItem(`POST#${post.id}`, 'COUNTS')).toBeUndefined();
    expect(await viewCount(post.id)).toBe(0);

    await processStream(t);
    expect(await viewCount(post.id)).toBe(30);
    // A list page reads the counter item too (one BatchGetItem for the page, never the shards).
    const listed = (await t.api.get(`/api/v1/posts?author=${author.userId}`).expect(200)).body.items as {
      id: string;
      viewCount: number;
    }[];
    expect(listed.find((item) => item.id === post.id)?.viewCount).toBe(30);
    // The next view answers the folded count plus itself.
    expect((await view(post.id, 'viewer-30').expect(200)).body.viewCount).toBe(31);
    // The same viewer again within the hour counts nothing.
    expect((await view(post.id, 'viewer-0').expect(200)).body.viewCount).toBe(30);
  });

  it('counts nothing twice when the stream delivers the shard records again, whole or older ones', async () => {
    const post = await newPost();
    for (let i = 0; i < 12; i++) await view(post.id, `replayed-${i}`).expect(200);
    await processStream(t);
    expect(await viewCount(post.id)).toBe(12);

    const records = await viewShardRecords(post.id);
    expect(records).toHaveLength(12);
    const processor = t.app.get(StreamProcessor);
    // The whole batch again, then its older half alone (a batch retried after a newer one was done).
    expect(await processor.handleBatch(records)).toEqual({ handled: records.length });
    expect(await processor.handleBatch(records.slice(0, 6))).toEqual({ handled: 6 });
    expect(await viewCount(post.id)).toBe(12);

    // Views counted on the counter item before the shards (an older table's) stay as the base.
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: Keys.postCounts(post.id),
        UpdateExpression: 'ADD viewCount :five',
        ExpressionAttributeValues: { ':five': 5 },
      }),
    );
    expect(await viewCount(post.id)).toBe(17);
    await view(post.id, 'after-base').expect(200);
    await processStream(t);
    expect(await viewCount(post.id)).toBe(18);
  });

  it("leaves nothing lasting from a deleted post's late views", async () => {
    const post = await newPost();
    for (let i = 0; i < 3; i++) await view(post.id, `before-${i}`).expect(200);
    await processStream(t);
    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    // A view that read the post before its deletion and writes after it, before the cascade ran.
    await t.db.send(new UpdateCommand(shardIncrement(t.tableName, post.id, 0)));
    expect(await view(post.id, 'after').expect(404)).toBeTruthy();

    await processStream(t);
    // Every shard is a tombstone that expires; the counter item stays the delete's tombstone.
    const shards = await shardItems(post.id);
    expect(shards).toHaveLength(SHARDS);
    for (const shard of shards) {
      expect(shard.viewCount).toBeUndefined();
      expect(shard).toEqual(expect.objectContaining({ deletedAt: expect.any(String), ttl: expect.any(Number) }));
    }
    const tombstone = await t.getItem(`POST#${post.id}`, 'COUNTS');
    expect(Object.keys(tombstone!).filter((name) => name.startsWith('viewShard'))).toEqual([]);
    // A view after the cascade fails on the shard's tombstone.
    await expect(t.db.send(new UpdateCommand(shardIncrement(t.tableName, post.id, 1)))).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });

    // A fold that comes after the counter tombstone expired (a worker hours behind) creates nothing.
    await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: Keys.postCounts(post.id) }));
    await t.app.get(PostsRepository).foldViewShards(post.id, new Map([[0, 4]]));
    expect(await t.getItem(`POST#${post.id}`, 'COUNTS')).toBeUndefined();
    expect(await t.queryPartition(`POST#${post.id}`)).toEqual([]);
  });
});

/**
 * Review 20a M2: at the most shards VIEW_COUNTER_SHARDS allows, a burst of views of one post put
 * 84+ shards of it in one batch, whose fold was one UpdateItem past DynamoDB's 4 KB expression
 * limit; no record failed alone, the processor blamed record 0, and the worker dead-lettered the
 * shard's records one by one (a deleted post's cascade among them).
 */
describe('view counter shards at the maximum shard count (e2e)', () => {
  const MAX_SHARDS = 100;
  let t: TestApp;
  let author: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({ VIEW_COUNTER_SHARDS: String(MAX_SHARDS), TRUST_PROXY_HOPS: '1' });
    author = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const publish = (title: string) => publishPost(t, author, title);
  const viewCount = async (postId: string) =>
    (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.viewCount as number;

  it('folds every shard of one post in one go', async () => {
    const postId = await publish('Folded at once');
    await processStream(t);
    const snapshots = new Map(Array.from({ length: MAX_SHARDS }, (_, n) => [n, n + 1]));
    await t.app.get(PostsRepository).foldViewShards(postId, snapshots);
    expect(await viewCount(postId)).toBe((MAX_SHARDS * (MAX_SHARDS + 1)) / 2);
  });

  it("a burst of views of one post over every shard: an exact count, no dead letter, and the batch's other work done (a deleted post's cascade)", async () => {
    const hot = await publish('Hot');
    const doomed = await publish('Doomed');
    await t.api
      .post(`/api/v1/posts/${doomed}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'first' })
      .expect(201);
    await processStream(t);

    // In one batch of the stream: the deletion, then views on every shard of the hot post
    // (each shard once, written as a view writes it, so that all 100 are there), then views
    // through the API from distinct addresses (on shards picked at random).
    await t.api.delete(`/api/v1/posts/${doomed}`).set('authorization', author.bearer).expect(204);
    for (let shard = 0; shard < MAX_SHARDS; shard++)
      await t.db.send(new UpdateCommand(shardIncrement(t.tableName, hot, shard)));
    for (let i = 0; i < 20; i++)
      await t.api.post(`/api/v1/posts/${hot}/views`).set('x-forwarded-for', `10.20.0.${i}`).expect(200);

    await processStream(t); // throws when a record keeps failing
    expect(await viewCount(hot)).toBe(MAX_SHARDS + 20);
    expect(await t.app.get(StreamDeadLettersRepository).count()).toBe(0);
    // The cascade ran: nothing of the deleted post's partition is left but its counter tombstone.
    expect((await t.queryPartition(`POST#${doomed}`)).map((item) => item.SK)).toEqual(['COUNTS']);
  });
});
