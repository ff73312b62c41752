import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkCounts, describeDrift } from '../src/admin-tools/count-check.js';
import type { Comment } from '../src/comments/comment.entity.js';
import { CommentsRepository } from '../src/comments/comments.repository.js';
import { DYNAMODB_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { classifyKey } from '../src/dynamo/item-types.js';
import { Keys } from '../src/dynamo/keys.js';
import { COMMENT_SHARDS } from '../src/dynamo/sharding.js';
import { toItemChange } from '../src/dynamo/stream-record.js';
import { backfillReplyCounts } from '../src/migrations/0002-backfill-reply-counts.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { processStream, streamRecords } from './helpers/stream.js';
import { createTestApp, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

/**
 * Issue 15: comments on one viral post (200/s), still exact. A comment of a post that is hot on the
 * instance (more than COMMENT_DIRECT_MAX_PER_SECOND, 5 by default, in the last second) counts on
 * one of the post's comment counter shards (`POSTCOMMENTS#<postId>#<n>`), outside the post's
 * partition; the stream folds them into the post's counter item by version
 * (src/posts/comment-shards.ts). Any other comment counts on the counter item, at once.
 */
describe('comment counter shards (e2e)', () => {
  let t: TestApp;
  let author: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({ COMMENT_AUTO_APPROVE: 'all' });
    author = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const newPost = async (title: string) => {
    const post = (
      await t.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title, content: 'x' }).expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    await processStream(t);
    return post.id;
  };
  const comment = (postId: string, as: SignedIn, content = 'hello') =>
    t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', as.bearer).send({ content });
  const commentCount = async (postId: string) =>
    (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.commentCount as number;
  const shards = async (postId: string) =>
    (
      await Promise.all(
        Array.from({ length: COMMENT_SHARDS }, (_, n) =>
          t.getItem(Keys.postCommentShard(postId, n).PK, Keys.postCommentShard(postId, n).SK),
        ),
      )
    ).filter((item) => item !== undefined);
  const shardTotal = async (postId: string) =>
    (await shards(postId)).reduce((sum, item) => sum + Number(item.commentCount ?? 0), 0);
  const drift = async () =>
    (await checkCounts({ client: t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), tableName: t.tableName })).drift;

  it("a quiet post's comment is in its commentCount at once, counted on its counter item", async () => {
    const postId = await newPost('Quiet');
    await comment(postId, author).expect(201);
    expect(await commentCount(postId)).toBe(1);
    expect(await shards(postId)).toEqual([]);
    expect(await drift()).toEqual([]);
  });

  it('a burst above COMMENT_DIRECT_MAX_PER_SECOND counts on the comment shards: the first 5 at once, all once the stream ran, deletions exact', async () => {
    const postId = await newPost('Burst');
    // One instant: all 12 within the heat's second, whatever the machine's load.
    t.clock.set(new Date());
    let ids: string[];
    try {
      const made = await Promise.all(Array.from({ length: 12 }, (_, i) => comment(postId, author, `c${i}`)));
      expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
      ids = made.map((r) => (r.body as { id: string }).id);
    } finally {
      t.clock.reset();
    }
    expect(await commentCount(postId)).toBe(5);
    expect(await shardTotal(postId)).toBe(7);
    // Exact in the table at once: check-counts adds the shards' own counts.
    expect(await drift()).toEqual([]);
    await processStream(t);
    expect(await commentCount(postId)).toBe(12);
    // Deleting comments counted on shards takes them off the counter item: the sum stays exact.
    for (const id of ids.slice(0, 6))
      await t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', author.bearer).expect(204);
    expect(await commentCount(postId)).toBe(6);
    await processStream(t);
    expect(await commentCount(postId)).toBe(6);
    expect(await drift()).toEqual([]);

    // The shards' records delivered again (all, an older half, one by one): the count stays.
    const records = (await streamRecords(t)).filter((record) => {
      const { type, id } = classifyKey(toItemChange(record).key);
      return type === 'postCommentShard' && id === postId;
    });
    expect(records.length).toBe(7);
    const processor = t.app.get(StreamProcessor);
    await processor.handleBatch(records);
    await processor.handleBatch(records.slice(0, 3));
    for (const record of records) await processor.handleBatch([record]);
    expect(await commentCount(postId)).toBe(6);
  });

  it('hot comments deleted before the stream folds their shards: commentCount reads 0 meanwhile, never below (review 13, L-b3)', async () => {
    const postId = await newPost('Deleted before the fold');
    t.clock.set(new Date());
    let ids: string[];
    try {
      const made = await Promise.all(Array.from({ length: 12 }, (_, i) => comment(postId, author, `d${i}`)));
      expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
      ids = made.map((r) => (r.body as { id: string }).id);
    } finally {
      t.clock.reset();
    }
    expect(await shardTotal(postId)).toBe(7);
    // Each deletion takes its -1 off the counter item at once; the 7 shard-counted +1s wait for the
    // fold: the stored parts sum to 5 - 12.
    for (const id of ids)
      await t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', author.bearer).expect(204);
    const counts = await t.getItem(Keys.postCounts(postId).PK, Keys.postCounts(postId).SK);
    expect(counts?.commentCount).toBe(-7);
    expect(await commentCount(postId)).toBe(0);
    await processStream(t);
    expect(await commentCount(postId)).toBe(0);
    expect(await drift()).toEqual([]);
  });

  it("a hot post's reply counts on its parent's pointer, not on the parent (review 13, M-b1); deletions exact, the pointer guards the parent", async () => {
    const postId = await newPost('Replies');
    const reply = (parentId: string, content: string) =>
      t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', author.bearer).send({ content, parentId });
    // One instant: the parent and 7 replies within the heat's second (5 a second direct, the rest hot).
    t.clock.set(new Date());
    let parent: { id: string };
    const replies: string[] = [];
    try {
      parent = (await comment(postId, author, 'parent').expect(201)).body as { id: string };
      for (let i = 0; i < 7; i++)
        replies.push(((await reply(parent.id, `r${i}`).expect(201)).body as { id: string }).id);
      // A post hot for comments here sends its likes to the like shards too: nothing on COUNTS.
      await t.api.put(`/api/v1/posts/${postId}/like`).set('authorization', author.bearer).expect(200);
    } finally {
      t.clock.reset();
    }
    const items = await t.queryPartition(Keys.postPartition(postId));
    const parentItem = items.find((item) => item.id === parent.id)!;
    const pointer = Keys.commentPointer(postId, parent.id);
    // The first 4 replies (with the parent, 5 comments) raised the parent's replyCount; the 3 hot ones
    // wrote nothing in the post's partition but themselves: they are on the parent's pointer.
    expect(parentItem.replyCount).toBe(4);
    expect(await t.getItem(pointer.PK, pointer.SK)).toMatchObject({ replyCount: 3 });
    // (The thread's order within one instant is by id, not by creation: compare as sets.)
    const hot = items.filter((item) => item.countedOnParentPointer === true).map((item) => String(item.id));
    expect(hot.sort()).toEqual(replies.slice(4).sort());
    expect(await t.getItem(Keys.postCounts(postId).PK, Keys.postCounts(postId).SK)).not.toHaveProperty('likeCount');
    const like = (await t.allItems()).find((item) => item.entity === 'Like' && item.postId === postId);
    expect(like).toBeDefined();
    expect(like).not.toHaveProperty('countedOnPost');
    // Exact in the table at once: check-counts recounts the pointer's replies apart.
    expect(await drift()).toEqual([]);
    // Migration 0002 run again by hand (its record deleted) finds the parent's count right: the hot
    // replies count on the pointer, not on the parent (it set the parent to all 7 replies).
    const rawParent = await t.app.get<DynamoDBClient>(DYNAMODB_CLIENT).send(
      new GetItemCommand({
        TableName: t.tableName,
        Key: { PK: { S: String(parentItem.PK) }, SK: { S: String(parentItem.SK) } },
        ConsistentRead: true,
      }),
    );
    const context = { client: t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), tableName: t.tableName };
    expect(await backfillReplyCounts.migrate(rawParent.Item!, context)).toBeUndefined();

    // The parent with no reply counted on it but some on its pointer: its hard delete is refused
    // (412), so no reply is left without its parent even past the service's check.
    const repository = t.app.get(CommentsRepository);
    const direct = replies.slice(0, 4);
    for (const id of direct)
      await t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', author.bearer).expect(204);
    const parentNow = (await repository.findById(postId, parent.id))!;
    expect(parentNow.replyCount).toBe(0);
    await expect(repository.delete(parentNow)).rejects.toMatchObject({ status: 412 });
    expect(await repository.findById(postId, parent.id)).toMatchObject({ deleted: false });
    // Deleting a hot reply takes it off the pointer; then the parent goes (no reply left).
    for (const id of replies.slice(4))
      await t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', author.bearer).expect(204);
    expect(await t.getItem(pointer.PK, pointer.SK)).toMatchObject({ replyCount: 0 });
    expect(await drift()).toEqual([]);
    await t.api.delete(`/api/v1/posts/${postId}/comments/${parent.id}`).set('authorization', author.bearer).expect(204);
    expect(await repository.findById(postId, parent.id)).toBeUndefined();
  });

  it('a hot reply to a comment without an author (a legacy or imported one) is accepted, counted on the parent (review 14, L-B2)', async () => {
    const postId = await newPost('Legacy parent');
    const repository = t.app.get(CommentsRepository);
    // One instant: the parent and 4 comments (5 a second direct), then the reply, hot.
    t.clock.set(new Date());
    let reply: { id: string };
    let parentKey: { PK: string; SK: string };
    let pointer: { PK: string; SK: string };
    try {
      const parent = (await comment(postId, author, 'parent').expect(201)).body as { id: string };
      // As a comment of an older layout or an import without its author: no authorId, so its
      // pointer carries no GSI6 keys (`pointerIndexKeysOf`).
      parentKey = Keys.comment(postId, (await repository.findById(postId, parent.id))!.path);
      pointer = Keys.commentPointer(postId, parent.id);
      await t.db.send(
        new UpdateCommand({ TableName: t.tableName, Key: parentKey, UpdateExpression: 'REMOVE authorId' }),
      );
      await t.db.send(
        new UpdateCommand({ TableName: t.tableName, Key: pointer, UpdateExpression: 'REMOVE GSI6PK, GSI6SK' }),
      );
      for (let i = 0; i < 4; i++) await comment(postId, author, `warm ${i}`).expect(201);
      // It was 422 unknown_parent_comment: the hot path's condition is the pointer's GSI6 keys.
      reply = (
        await t.api
          .post(`/api/v1/posts/${postId}/comments`)
          .set('authorization', author.bearer)
          .send({ content: 'reply', parentId: parent.id })
          .expect(201)
      ).body as { id: string };
    } finally {
      t.clock.reset();
    }
    // Hot (counted on a comment shard), but its reply count on the parent: the pointer cannot say
    // whether an authorless parent is live.
    expect(await shardTotal(postId)).toBe(1);
    expect(await t.getItem(parentKey.PK, parentKey.SK)).toMatchObject({ replyCount: 1 });
    expect(await t.getItem(pointer.PK, pointer.SK)).not.toHaveProperty('replyCount');
    expect(await repository.findById(postId, reply.id)).not.toHaveProperty('countedOnParentPointer');
    expect(await drift()).toEqual([]);
  });

  it('db:check-counts reports replies counted on a pointer that is gone (review 14, L-B1), and --fix leaves them', async () => {
    const postId = await newPost('Pointer gone');
    t.clock.set(new Date());
    let parent: { id: string };
    try {
      parent = (await comment(postId, author, 'parent').expect(201)).body as { id: string };
      for (let i = 0; i < 6; i++)
        await t.api
          .post(`/api/v1/posts/${postId}/comments`)
          .set('authorization', author.bearer)
          .send({ content: `r${i}`, parentId: parent.id })
          .expect(201);
    } finally {
      t.clock.reset();
    }
    const pointer = Keys.commentPointer(postId, parent.id);
    expect(await t.getItem(pointer.PK, pointer.SK)).toMatchObject({ replyCount: 2 });
    // The pointer removed outside `delete()` (an orphan pointer's removal, a sweep, a hand edit).
    const removed = (await t.getItem(pointer.PK, pointer.SK))!;
    await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: pointer }));
    const check = (fix: boolean) =>
      checkCounts({ client: t.app.get<DynamoDBClient>(DYNAMODB_CLIENT), tableName: t.tableName, fix });
    const expected = {
      counter: 'comment pointer replyCount' as const,
      key: pointer,
      stored: undefined,
      actual: 2,
      mirrors: {},
      notRepaired: 'pointer missing: not repaired, look at the parent comment',
    };
    expect((await check(false)).drift).toEqual([expected]);
    expect(describeDrift(expected)).toBe(
      `comment pointer replyCount of ${pointer.PK} ${pointer.SK}: stored none, actual 2 (pointer missing: not repaired, look at the parent comment)`,
    );
    expect((await check(true)).drift).toEqual([{ ...expected, fixed: false }]);
    expect(await t.getItem(pointer.PK, pointer.SK)).toBeUndefined();
    // Put back, so that the suite's other checks find the table exact.
    await t.db.send(new PutCommand({ TableName: t.tableName, Item: removed }));
    expect(await drift()).toEqual([]);
  });

  it("a hot reply to a parent deleted meanwhile is refused (422): the parent's pointer has lost its GSI6 keys", async () => {
    const postId = await newPost('Reply race');
    const parent = (await comment(postId, author, 'parent').expect(201)).body as { id: string };
    // A reply keeps it as a tombstone when it is deleted.
    await t.api
      .post(`/api/v1/posts/${postId}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'first', parentId: parent.id })
      .expect(201);
    const repository = t.app.get(CommentsRepository);
    const read = (await repository.findById(postId, parent.id))!;
    // Its request read the parent live; the parent's deletion committed (a tombstone); then its transaction.
    await t.api.delete(`/api/v1/posts/${postId}/comments/${parent.id}`).set('authorization', author.bearer).expect(204);
    const now = new Date().toISOString();
    const id = 'latereply000000000001';
    const late: Comment = {
      id,
      postId,
      path: `${read.path}/${now}#${id}`,
      parentId: parent.id,
      depth: 2,
      authorId: author.userId,
      content: 'late',
      status: 'approved',
      deleted: false,
      likeCount: 0,
      createdAt: now,
      updatedAt: now,
      version: 1,
      countedOnParentPointer: true,
    };
    await expect(repository.create(late, parent.id, true)).rejects.toMatchObject({
      status: 422,
      code: 'unknown_parent_comment',
    });
    expect(await repository.findById(postId, id)).toBeUndefined();
    expect(await drift()).toEqual([]);
  });

  it('40 concurrent comments on one post: exact in the table at once, and in commentCount once the stream ran', async () => {
    const postId = await newPost('Viral');
    const commenters = await Promise.all(Array.from({ length: 8 }, () => signUp(t)));
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => comment(postId, commenters[i % 8], `v${i}`)));
    expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
    expect(await drift()).toEqual([]);
    await processStream(t);
    expect(await commentCount(postId)).toBe(40);
    // In the post's partition: its own items and the comments; no pointer, no count shard.
    const partition = await t.queryPartition(Keys.postPartition(postId));
    expect(
      partition
        .filter((item) => !String(item.SK).startsWith(Keys.commentPrefix))
        .map((i) => i.SK)
        .sort(),
    ).toEqual(['COUNTS', 'POST', 'POST#CONTENT']);
    expect(partition).toHaveLength(43);
  });

  it("a hot comment racing the post's deletion: written before the cascade it goes with the post, after it fails on the shard's tombstone", async () => {
    const postId = await newPost('Deleted under comments');
    const repository = t.app.get(CommentsRepository);
    const now = new Date().toISOString();
    const hotComment = (id: string): Comment => ({
      id,
      postId,
      path: `${now}#${id}`,
      depth: 1,
      authorId: author.userId,
      content: 'late',
      status: 'approved',
      deleted: false,
      likeCount: 0,
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    await t.api.delete(`/api/v1/posts/${postId}`).set('authorization', author.bearer).expect(204);
    // Its request read the post live; the deletion committed; its transaction comes before the cascade.
    await repository.create(hotComment('latecomment0000000001'), undefined, true);
    const early = Keys.commentPointer(postId, 'latecomment0000000001');
    expect(await t.getItem(early.PK, early.SK)).toBeDefined();
    await processStream(t);
    expect((await t.queryPartition(Keys.postPartition(postId))).map((item) => item.SK)).toEqual(['COUNTS']);
    expect(await t.getItem(early.PK, early.SK)).toBeUndefined();
    const tombstones = await shards(postId);
    expect(tombstones).toHaveLength(COMMENT_SHARDS);
    for (const shard of tombstones) expect(shard).toMatchObject({ deletedAt: expect.any(String) });
    // One that comes after the cascade's first run fails on its shard's tombstone: 404, nothing left.
    await expect(repository.create(hotComment('latecomment0000000002'), undefined, true)).rejects.toMatchObject({
      status: 404,
      code: 'post_not_found',
    });
    const late = Keys.commentPointer(postId, 'latecomment0000000002');
    expect(await t.getItem(late.PK, late.SK)).toBeUndefined();
    expect((await t.queryPartition(Keys.postPartition(postId))).map((item) => item.SK)).toEqual(['COUNTS']);
  });
});
