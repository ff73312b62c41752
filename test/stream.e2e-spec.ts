import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { checkCounts } from '../src/admin-tools/count-check.js';
import { batchWriteAll, type WriteRequest } from '../src/dynamo/batch.js';
import { addCallHook, createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { DYNAMODB_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { CommentIndexKeys, ENTITY, Keys } from '../src/dynamo/keys.js';
import { HIDDEN_LIKE_PREFIX } from '../src/posts/like-visibility.js';
import { PostsRepository, toLikeItem } from '../src/posts/posts.repository.js';
import { SettableClock } from '../src/common/clock/clock.js';
import { AppMetrics } from '../src/metrics/app-metrics.js';
import { StreamPoller } from '../src/stream/stream-poller.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import type { StreamRecord } from '../src/dynamo/stream-record.js';
import { atScale } from './helpers/scale.js';
import { processStream, streamRecords } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  type SignedIn,
  type TestApp,
  SEEDING_TIMEOUT_MS,
} from './helpers/test-app.js';

jest.setTimeout(SEEDING_TIMEOUT_MS);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
/** The post with 200 comments and 300 likes in `npm run test:scale`; 60 and 90 in `npm test`. */
const COMMENTS = atScale(60, 200);
const LIKES = atScale(90, 300);
/**
 * The bound this suite holds the cascade to: every child of a post with 200 comments and 300
 * likes is gone this long after the processor starts on the stream (about 2 s on an idle 2-core
 * machine; the bound leaves room for a loaded one).
 */
const CASCADE_BOUND_MS = 60_000;

describe('change streams: the post cascade (e2e)', () => {
  let t: TestApp;
  let raw: DynamoDBClient;
  let admin: SignedIn;
  let author: SignedIn;
  let tag: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp({ ...ADMIN_ENV, METRICS_TOKEN });
    raw = createDynamoClient(t.config.dynamo);
    admin = await signInAdmin(t);
    author = await signUp(t);
    tag = (await t.api.post('/api/v1/tags').set('authorization', admin.bearer).send({ name: 'Streams' }).expect(201))
      .body as { id: string; slug: string };
    await processStream(t); // the set-up's own records
  });
  afterAll(async () => {
    raw.destroy();
    await t.close();
  });

  const poller = () => t.app.get(StreamPoller);

  async function publishedPost(title: string): Promise<string> {
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title, content: 'x', tagIds: [tag.id] })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    return post.id;
  }

  /**
   * COMMENTS approved comments (with their id pointers and author-index keys) and LIKES likes, written
   * with BatchWriteItem, and the post's counter item set to match: exact counts, without hundreds of requests.
   */
  async function seedChildren(postId: string): Promise<void> {
    const now = new Date().toISOString();
    const writes: WriteRequest[] = [];
    for (let i = 0; i < COMMENTS; i++) {
      const id = `seedcomment${String(i).padStart(10, '0')}`;
      const path = `${now}#${id}`;
      const comment = { id, postId, path, depth: 0, authorId: author.userId, createdAt: now };
      writes.push(
        {
          PutRequest: {
            Item: {
              ...Keys.comment(postId, path),
              entity: ENTITY.Comment,
              ...comment,
              content: `comment ${i}`,
              status: 'approved',
              deleted: false,
              likeCount: 0,
              replyCount: 0,
              updatedAt: now,
              version: 1,
            },
          },
        },
        {
          PutRequest: {
            Item: {
              ...Keys.commentPointer(postId, id),
              ...CommentIndexKeys.commenter({ ...comment, status: 'approved' }),
              entity: ENTITY.CommentPointer,
              path,
            },
          },
        },
      );
    }
    for (let i = 0; i < LIKES; i++) {
      const userId = `seedliker${String(i).padStart(12, '0')}`;
      writes.push({ PutRequest: { Item: toLikeItem(postId, userId, now) } });
      // The liker's likedCount, as the like's transaction leaves it (issue 18).
      writes.push({
        PutRequest: { Item: { ...Keys.userPostCounts(userId), entity: ENTITY.UserPostCounts, likedCount: 1 } },
      });
    }
    await batchWriteAll(t.db, t.tableName, writes);
    await setCounts(postId, LIKES, COMMENTS);
  }

  /** The post's counter item with these values (written as the app's ADDs would leave it). */
  async function setCounts(postId: string, likes: number, comments: number): Promise<void> {
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: Keys.postCounts(postId),
        UpdateExpression: 'SET entity = :entity ADD likeCount :likes, commentCount :comments',
        ExpressionAttributeValues: { ':entity': ENTITY.PostCounts, ':likes': likes, ':comments': comments },
      }),
    );
  }

  const partition = (postId: string) => t.queryPartition(Keys.postPartition(postId));
  /** Every record of the user item still in the table's stream, read straight from the Streams API. */
  const userRecords = async (userId: string): Promise<StreamRecord[]> =>
    (await streamRecords(t)).filter(
      (record) =>
        record.dynamodb?.Keys?.PK?.S === Keys.user(userId).PK && record.dynamodb?.Keys?.SK?.S === Keys.user(userId).SK,
    );
  const countPartition = async (postId: string) =>
    (
      await t.db.send(
        new QueryCommand({
          TableName: t.tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': Keys.postPartition(postId) },
          Select: 'COUNT',
        }),
      )
    ).Count ?? 0;
  const authorComments = async () =>
    (
      await t.db.send(
        new QueryCommand({
          TableName: t.tableName,
          IndexName: 'GSI6',
          KeyConditionExpression: 'GSI6PK = :pk',
          ExpressionAttributeValues: { ':pk': CommentIndexKeys.commenterPartition(author.userId) },
        }),
      )
    ).Items ?? [];
  const drift = async () => (await checkCounts({ client: raw, tableName: t.tableName })).drift;
  const deletePost = (postId: string) =>
    t.api.delete(`/api/v1/posts/${postId}`).set('authorization', author.bearer).expect(204);

  it('costs the request what a post without children costs, and the processor removes every child', async () => {
    const bare = await publishedPost('Bare post');
    const busy = await publishedPost('Busy post');
    await setCounts(bare, 0, 0); // the same items to read and delete, children apart
    await seedChildren(busy);
    // Summary, content, counts and the comments (their pointers each in a partition of their own).
    expect(await partition(busy)).toHaveLength(3 + COMMENTS);
    expect(await t.postLikes(busy)).toHaveLength(LIKES); // in the post's like shards
    expect(await drift()).toEqual([]);
    await processStream(t);
    const listed = async () =>
      ((await t.api.get(`/api/v1/users/${author.userId}/comments`).expect(200)).body as { items: unknown[] }).items;
    expect(await listed()).toHaveLength(20);

    const bareCost = dynamoCost(await deletePost(bare));
    const busyCost = dynamoCost(await deletePost(busy));
    expect(busyCost).toEqual(bareCost);
    // Before the processor runs, the comments are still in the author index: never listed.
    expect(await listed()).toEqual([]);
    // The request removed the post from every feed at once; its children are left to the processor.
    expect((await t.api.get(`/api/v1/tags/by-slug/${tag.slug}`).expect(200)).body.postCount).toBe(0);
    expect((await partition(busy)).length).toBe(1 + COMMENTS);
    expect(await t.postLikes(busy)).toHaveLength(LIKES);

    const started = performance.now();
    await processStream(t);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(CASCADE_BOUND_MS);
    // Only the counter item's tombstone stays, until its ttl (it refuses late likes and comments).
    expect(await partition(busy)).toEqual([expect.objectContaining({ SK: 'COUNTS', deletedAt: expect.any(String) })]);
    expect(await t.postLikes(busy)).toEqual([]);
    expect(await authorComments()).toEqual([]);
    expect(await drift()).toEqual([]);
  });

  it('finishes the cascade after a crash of the processor midway: no orphan, no double effect', async () => {
    const postId = await publishedPost('Crashing cascade');
    await seedChildren(postId);
    await processStream(t);
    await deletePost(postId);

    // The processor "crashes" after 5 of the cascade's deletions (a like goes in a transaction with
    // its liker's count, the rest in BatchWriteItem calls): the record stays unacknowledged. Only
    // deletions count: the other handlers' writes in the same batch (the view shards' tombstones,
    // a like's place) come first or not depending on the records' timing, and counting them let
    // the crash come before the first deletion (a clean-clone run at 4d5a478: 211 items left).
    const client = t.app.get<DynamoDBClient>(DYNAMODB_CLIENT);
    let batches = 0;
    const deletes = (input: Record<string, unknown>): boolean =>
      Object.values((input.RequestItems ?? {}) as Record<string, object[]>).some((requests) =>
        requests.some((request) => 'DeleteRequest' in request),
      ) || ((input.TransactItems ?? []) as object[]).some((item) => 'Delete' in item);
    const removeCrash = addCallHook(client, (command, input) => {
      const write = ['BatchWriteItemCommand', 'TransactWriteItemsCommand'].includes(command);
      if (write && deletes(input) && ++batches > 5) throw new Error('worker crashed');
    });
    try {
      await expect(processStream(t)).rejects.toThrow(/keeps failing/);
    } finally {
      removeCrash();
    }
    const left = (await partition(postId)).length + (await t.postLikes(postId)).length;
    expect(left).toBeGreaterThan(1);
    expect(left).toBeLessThan(1 + COMMENTS + LIKES);

    // A restart knows only the checkpoints, which never passed the post's removal: the worker
    // loop reads that record again and finishes the cascade.
    await poller().stop();
    poller().start();
    try {
      const deadline = Date.now() + CASCADE_BOUND_MS;
      while ((await countPartition(postId)) > 1 && Date.now() < deadline) await sleep(250);
    } finally {
      await poller().stop();
    }
    expect(await partition(postId)).toEqual([expect.objectContaining({ SK: 'COUNTS' })]);
    expect(await t.postLikes(postId)).toEqual([]);
    // The comments' pointers (outside the partition) went with them.
    const pointerPrefix = Keys.commentPointer(postId, '').PK;
    expect((await t.allItems()).filter((item) => String(item.PK).startsWith(pointerPrefix))).toEqual([]);
    await processStream(t); // a second delivery of anything would change nothing
    expect(await drift()).toEqual([]);
    expect((await t.api.get(`/api/v1/tags/by-slug/${tag.slug}`).expect(200)).body.postCount).toBe(0);
  });

  it('writes nothing under a deleted post before the processor cleans up, even after the counter tombstone expired', async () => {
    const postId = await publishedPost('Late writes');
    // The author is not verified: their comment waits for moderation; the admin's is approved.
    const pending = (
      await t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', author.bearer).send({ content: 'p' })
    ).body as { id: string; status: string };
    expect(pending.status).toBe('pending');
    const approved = (
      await t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', admin.bearer).send({ content: 'a' })
    ).body as { id: string; status: string; version: number };
    expect(approved.status).toBe('approved');
    await processStream(t);
    await deletePost(postId);
    // The tombstone's ttl passed (the processor can be hours late); only the summary's absence is left to refuse.
    await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: Keys.postCounts(postId) }));
    const before = await partition(postId);

    const comments = `/api/v1/posts/${postId}/comments`;
    const refused = [
      await t.api
        .post(`${comments}/${pending.id}/moderate`)
        .set('authorization', admin.bearer)
        .send({ status: 'approved' }),
      await t.api
        .patch(`${comments}/${approved.id}`)
        .set('authorization', admin.bearer)
        .set('if-match', `"${approved.version}"`)
        .send({ content: 'edited' }),
      await t.api.put(`${comments}/${approved.id}/like`).set('authorization', author.bearer),
      await t.api.delete(`${comments}/${approved.id}`).set('authorization', admin.bearer),
    ];
    expect(refused.map((res): unknown[] => [res.status, (res.body as { code?: string }).code])).toEqual(
      Array(4).fill([404, 'post_not_found']),
    );
    expect(await partition(postId)).toEqual(before); // no counter item recreated without a ttl, no like
    await processStream(t);
    expect(await partition(postId)).toEqual([]);
  });

  it("copies a renamed author's name to their posts, feed links and comments; replaying the records changes nothing", async () => {
    const writer = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', writer.bearer)
        .send({ title: 'Renamed', content: 'x', tagIds: [tag.id] })
        .expect(201)
    ).body as { id: string; authorUsername: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', writer.bearer).send({}).expect(200);
    await t.api.post(`/api/v1/posts/${post.id}/comments`).set('authorization', writer.bearer).send({ content: 'mine' });
    const me = await t.api.get('/api/v1/users/me').set('authorization', writer.bearer).expect(200);
    expect(post.authorUsername).toBe(me.body.username); // written at creation, from the guard's read of the user

    const rename = async (changes: object) => {
      const current = await t.api.get('/api/v1/users/me').set('authorization', writer.bearer).expect(200);
      await t.api
        .patch('/api/v1/users/me')
        .set('authorization', writer.bearer)
        .set('if-match', current.headers.etag)
        .send(changes)
        .expect(200);
    };
    const username = `ada_${Date.now().toString(36)}`;
    await rename({ username: `${username}_1`, firstName: 'Ada' });
    await rename({ username, firstName: 'Ada', lastName: 'Lovelace' });
    await processStream(t);

    const shown = { authorUsername: username, authorName: 'Ada Lovelace' };
    expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body).toMatchObject(shown);
    const feed = (await t.api.get(`/api/v1/posts?tag=${tag.slug}&limit=100`).expect(200)).body as { items: object[] };
    expect(feed.items).toContainEqual(expect.objectContaining({ id: post.id, ...shown }));
    const links = (await t.queryPartition(Keys.tagPartition(tag.id))).filter((item) => item.postId === post.id);
    expect(links).toEqual([expect.objectContaining({ summary: expect.objectContaining(shown) })]); // the feed's copy
    const thread = await t.api.get(`/api/v1/posts/${post.id}/comments`).set('authorization', writer.bearer).expect(200);
    expect(thread.body.items).toEqual([expect.objectContaining({ content: 'mine', ...shown })]);

    // The same records again, in their order and then the older one last: nothing changes.
    const copies = async () => [
      ...(await partition(post.id)).filter((item) => item.SK === 'POST' || String(item.SK).startsWith('COMMENT#')),
      ...(await t.queryPartition(Keys.tagPartition(tag.id))).filter((item) => item.postId === post.id),
    ];
    const before = await copies();
    const renames = (await userRecords(writer.userId)).filter((record) => record.eventName === 'MODIFY');
    expect(renames.length).toBeGreaterThanOrEqual(2);
    const processor = t.app.get(StreamProcessor);
    expect(await processor.handleBatch(renames)).toEqual({ handled: renames.length });
    expect(await processor.handleBatch(renames.slice(0, 1))).toEqual({ handled: 1 });
    expect(await copies()).toEqual(before);

    // A rename handled late: the handler listed the post, then an erasure anonymised it (and its
    // links' copies) before the handler wrote. Neither the post nor a link gets the name back.
    const posts = t.app.get(PostsRepository);
    const [listed] = (await posts.ownPosts(writer.userId, undefined, 10)).items;
    expect(listed.id).toBe(post.id);
    await t.api.delete(`/api/v1/users/${writer.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);
    await posts.setAuthorDisplay(listed, {
      authorUsername: 'late_rename',
      authorName: 'Late Rename',
      authorVersion: 1e9,
    });
    const anonymised = JSON.stringify(await copies());
    expect(anonymised).not.toContain('late_rename');
    expect(anonymised).not.toContain(username);
  });

  it('shows the records handled and the lag per shard in /metrics', async () => {
    // Its own failure and success, whatever ran before: a post whose cascade fails once.
    const postId = await publishedPost('Counted cascade');
    await t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', admin.bearer).send({ content: 'c' });
    await processStream(t);
    await deletePost(postId);
    const client = t.app.get<DynamoDBClient>(DYNAMODB_CLIENT);
    const refuseBatches = addCallHook(client, (command) => {
      if (command === 'BatchWriteItemCommand') throw new Error('database refuses batches');
    });
    try {
      await expect(processStream(t)).rejects.toThrow(/keeps failing/);
    } finally {
      refuseBatches();
    }
    t.clock.advance(60_000); // past the shard's backoff
    await processStream(t);
    expect(await partition(postId)).toEqual([expect.objectContaining({ SK: 'COUNTS' })]);
    const res = await t.http.get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(res.text).toMatch(/stream_worker_records_total\{event="REMOVE",outcome="ok"\} [1-9]\d*/);
    expect(res.text).toMatch(/stream_worker_records_total\{event="REMOVE",outcome="error"\} [1-9]\d*/);
    expect(res.text).toMatch(/stream_worker_lag_seconds\{shard="[^"]+"\} 0/);
    expect(res.text).toMatch(/stream_worker_batch_duration_seconds_count [1-9]\d*/);
  });
});

describe('change streams: a post cascade in bounded runs (e2e)', () => {
  /** Likes per run, small so that a post with LIKES likes needs many runs. */
  const PER_RUN = 7;
  let t: TestApp;
  let raw: DynamoDBClient;

  beforeAll(async () => {
    t = await createTestApp({ STREAM_CASCADE_LIKES_PER_RUN: String(PER_RUN) });
    raw = createDynamoClient(t.config.dynamo);
  });
  afterAll(async () => {
    raw.destroy();
    await t.close();
  });

  /**
   * `count` likes of the post by users `<prefix>000000000000`..., written as the like's transaction
   * leaves them (the like item, the liker's likedCount, the post's likeCount), in bulk.
   */
  async function seedLikes(postId: string, count: number, prefix: string): Promise<void> {
    const now = new Date().toISOString();
    const writes: WriteRequest[] = [];
    for (let i = 0; i < count; i++) {
      const userId = `${prefix}${String(i).padStart(12, '0')}`;
      writes.push({ PutRequest: { Item: toLikeItem(postId, userId, now) } });
      writes.push({
        PutRequest: { Item: { ...Keys.userPostCounts(userId), entity: ENTITY.UserPostCounts, likedCount: 1 } },
      });
    }
    await batchWriteAll(t.db, t.tableName, writes);
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: Keys.postCounts(postId),
        // As a like's transaction leaves it (postCounterChange): db:check-counts finds counter items by entity.
        UpdateExpression: 'SET entity = :entity ADD likeCount :likes',
        ExpressionAttributeValues: { ':likes': count, ':entity': ENTITY.PostCounts },
      }),
    );
  }

  it('removes a post with many likes in runs of at most STREAM_CASCADE_LIKES_PER_RUN, each step carried by the tombstone; counts stay exact', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Many likes', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    // 12 likes through the API, at once (their likers' counts in the same transactions), and
    // LIKES seeded as the like's transaction leaves them; a comment for the rest of the partition.
    const likers = await Promise.all(Array.from({ length: 12 }, () => signUp(t)));
    await Promise.all(
      likers.map((liker) => t.api.put(`/api/v1/posts/${post.id}/like`).set('authorization', liker.bearer).expect(200)),
    );
    await seedLikes(post.id, LIKES, 'runliker');
    await t.api
      .post(`/api/v1/posts/${post.id}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'stays until the likes are gone' })
      .expect(201);
    await processStream(t);
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);

    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    await processStream(t); // the post's REMOVE, then each step's MODIFY of the tombstone

    // Only the tombstone stays, and it counts the runs: one per PER_RUN likes (the last one
    // finds fewer and deletes the rest of the partition).
    const runs = Math.ceil((LIKES + 12) / PER_RUN) + ((LIKES + 12) % PER_RUN === 0 ? 1 : 0);
    expect(await t.queryPartition(Keys.postPartition(post.id))).toEqual([
      expect.objectContaining({ SK: 'COUNTS', deletedAt: expect.any(String), cascadeStep: runs }),
    ]);
    // Every liker's likedCount went down once (the API likers' to 0), and no counter drifts.
    const counts = await t.queryPartition(Keys.userPostCounts(likers[0].userId).PK);
    expect(counts.find((item) => item.SK === Keys.userPostCounts('').SK)).toMatchObject({ likedCount: 0 });
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);
  });

  /** Every like of the post sits where its post's state places it (src/posts/like-visibility.ts). */
  async function expectLikesPlaced(postId: string, hidden: boolean): Promise<number> {
    const likes = await t.postLikes(postId);
    for (const like of likes) {
      expect({ place: like.GSI2SK, hidden }).toEqual({
        place: hidden ? `${HIDDEN_LIKE_PREFIX}${String(like.likedAt)}#${postId}` : expect.not.stringMatching(/^~/),
        hidden,
      });
    }
    return likes.length;
  }

  it('moves a post’s likes out of and back into their likers’ lists in runs of STREAM_CASCADE_LIKES_PER_RUN, exact under concurrent likes and unlikes', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Liked, withdrawn, back', content: 'x' })
        .expect(201)
    ).body as { id: string };
    const move = (action: string) =>
      t.api.post(`/api/v1/posts/${post.id}/${action}`).set('authorization', author.bearer).send({}).expect(200);
    const like = (liker: SignedIn, on: boolean) =>
      t.api[on ? 'put' : 'delete'](`/api/v1/posts/${post.id}/like`).set('authorization', liker.bearer);
    await move('publish');
    const likers = await Promise.all(Array.from({ length: 12 }, () => signUp(t)));
    const late = await Promise.all(Array.from({ length: 8 }, () => signUp(t)));
    await Promise.all(likers.map((liker) => like(liker, true).expect(200)));
    await seedLikes(post.id, LIKES, 'hidliker');
    await processStream(t);

    // Withdrawn while half the likers unlike and the late ones like: whatever each request met
    // (200, or 404 once the post is out), every like left ends hidden and uncounted.
    await Promise.all([
      move('unpublish'),
      ...likers.slice(0, 6).map((liker) => like(liker, false)),
      ...late.map((liker) => like(liker, true)),
    ]);
    await processStream(t);
    const left = await expectLikesPlaced(post.id, true);
    expect(left).toBeGreaterThanOrEqual(LIKES + 6);
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);
    const counts = await t.getItem(Keys.userPostCounts(likers[11].userId).PK, Keys.userPostCounts('').SK);
    expect(counts).toMatchObject({ likedCount: 0 });
    // The runs' steps went through the counter item: one per PER_RUN likes read.
    const counter = await t.getItem(Keys.postCounts(post.id).PK, Keys.postCounts(post.id).SK);
    expect(counter?.likeSyncStep).toBeGreaterThanOrEqual(Math.floor(left / PER_RUN));

    // Back, while the other half unlike (their likes may be hidden still) and the late ones like again.
    await Promise.all([
      move('publish'),
      ...likers.slice(6).map((liker) => like(liker, false)),
      ...late.map((liker) => like(liker, true)),
    ]);
    await processStream(t);
    // Which likes are left depends on what each request met (an unlike of a post not out is a
    // 404 and leaves its like); each liker's count is whether their like is there.
    expect(await expectLikesPlaced(post.id, false)).toBeGreaterThanOrEqual(LIKES);
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);
    for (const liker of [...likers, ...late]) {
      const likeItem = await t.getItem(Keys.like(post.id, liker.userId).PK, Keys.like(post.id, liker.userId).SK);
      const own = await t.getItem(Keys.userPostCounts(liker.userId).PK, Keys.userPostCounts('').SK);
      expect({ liker: liker.userId, count: own?.likedCount ?? 0 }).toEqual({
        liker: liker.userId,
        count: likeItem ? 1 : 0,
      });
    }
    expect(
      await Promise.all(
        late.map(async (liker) => (await like(liker, false)).status), // the post is out: each unlike goes through
      ),
    ).toEqual(late.map(() => 200));
  });

  it('runs every sync of a post to its end when two syncs stop at the same step and like (review 11, H1)', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Out and back, two runs each', content: 'x' })
        .expect(201)
    ).body as { id: string };
    const move = (action: string) =>
      t.api.post(`/api/v1/posts/${post.id}/${action}`).set('authorization', author.bearer).send({}).expect(200);
    await move('publish');
    // Between one and two runs of likes: each sync records step 2 after the same like.
    const likes = PER_RUN + 3;
    await seedLikes(post.id, likes, 'twicesync');
    await processStream(t);
    await move('unpublish');
    await processStream(t);
    expect(await expectLikesPlaced(post.id, true)).toBe(likes);
    await move('publish');
    await processStream(t);
    // Before, the second sync's step 2 wrote the values already there: no record, no second run.
    expect(await expectLikesPlaced(post.id, false)).toBe(likes);
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);
  });

  it('finishes the cascade when the tombstone expired before it ran (a worker down for over an hour; review 5, #6b)', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Deleted while the worker was down', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    const likes = 3 * PER_RUN - 1;
    await seedLikes(post.id, likes, 'lateliker');
    await processStream(t);

    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    // DynamoDB's TTL removed the tombstone before the worker reached the post's REMOVE.
    await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: Keys.postCounts(post.id) }));
    await processStream(t);

    expect(await t.queryPartition(Keys.postPartition(post.id))).toEqual([
      expect.objectContaining({ SK: 'COUNTS', deletedAt: expect.any(String), cascadeStep: 3 }),
    ]);
    const liker = await t.queryPartition(Keys.userPostCounts('lateliker000000000000').PK);
    expect(liker).toEqual([expect.objectContaining({ likedCount: 0 })]);
    expect((await checkCounts({ client: raw, tableName: t.tableName })).drift).toEqual([]);
  });
});

describe('change streams: the inline worker (e2e)', () => {
  let t: TestApp;
  let author: SignedIn;
  const clock = new SettableClock();

  beforeAll(async () => {
    // What `npm start` does in development: the poller runs in the API's process.
    t = await createTestApp({ STREAM_WORKER: 'inline', STREAM_WORKER_STALL_SECONDS: '30' }, { clock });
    author = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const postWithComment = async (title: string) => {
    const post = (
      await t.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title, content: 'x' }).expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    await t.api
      .post(`/api/v1/posts/${post.id}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'hi' })
      .expect(201);
    return post.id;
  };
  const remains = async (postId: string) => (await t.queryPartition(Keys.postPartition(postId))).length;
  /** Polls until `done` or the bound passes (the worker's loop runs on its own). */
  const eventually = async (done: () => Promise<boolean>) => {
    const deadline = Date.now() + CASCADE_BOUND_MS;
    while (!(await done()) && Date.now() < deadline) await sleep(100);
    return done();
  };

  it('mails the verification link of a registration without anyone driving it (no request sends mail)', async () => {
    expect(t.app.get(StreamPoller).running).toBe(true);
    const user = await signUp(t);
    const mailed = () => Promise.resolve(t.mailer.last(user.email, 'email_verification') !== undefined);
    expect(await eventually(mailed)).toBe(true);
  });

  it("removes a deleted post's comments without anyone driving it", async () => {
    expect(t.app.get(StreamPoller).running).toBe(true);
    const postId = await postWithComment('Inline cascade');
    await t.api.delete(`/api/v1/posts/${postId}`).set('authorization', author.bearer).expect(204);
    expect(await eventually(async () => (await remains(postId)) === 1)).toBe(true);
  });

  it('reports a stalled worker on /health/worker and in /metrics, never on /health/ready', async () => {
    // The clock stands still: only the test moves it, so a slow machine cannot make the worker stall early.
    clock.set(new Date());
    const client = t.app.get<DynamoDBClient>(DYNAMODB_CLIENT);
    const refuseBatches = addCallHook(client, (command) => {
      if (command === 'BatchWriteItemCommand') throw new Error('database refuses batches');
    });
    const stalledGauge = async () => /^stream_worker_stalled (\d)$/m.exec(await t.app.get(AppMetrics).render())?.[1];
    let postId: string;
    try {
      postId = await postWithComment('Stalled cascade');
      await t.api.delete(`/api/v1/posts/${postId}`).set('authorization', author.bearer).expect(204);
      const failures = () =>
        t.app
          .get(AppMetrics)
          .render()
          .then((text) => /stream_worker_records_total\{event="REMOVE",outcome="error"\} [1-9]/.test(text));
      expect(await eventually(failures)).toBe(true);
      expect((await t.api.get('/health/worker').expect(200)).body.state).toBe('running'); // failing, not for long yet
      expect(await stalledGauge()).toBe('0');
      clock.advance(31_000);
      expect((await t.api.get('/health/worker').expect(503)).body.code).toBe('stream_worker_stalled');
      expect(await stalledGauge()).toBe('1');
      await t.api.get('/health/ready').expect(200); // the API still serves
    } finally {
      refuseBatches();
    }
    clock.advance(31_000); // past the shard's backoff
    try {
      expect(await eventually(async () => (await remains(postId)) === 1)).toBe(true);
      expect(await eventually(async () => (await t.http.get('/health/worker')).status === 200)).toBe(true);
      expect(await stalledGauge()).toBe('0');
    } finally {
      clock.reset();
    }
  });
});
