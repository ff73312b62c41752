import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_DOCUMENT_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { Keys } from '../src/dynamo/keys.js';
import { processStream } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
  verifyEmail,
} from './helpers/test-app.js';

interface CommentBody {
  id: string;
  status: string;
}

/** Replies racing deletes, the existence leak through replies, and post authors hiding comments. */
describe('comments: races, leaks and post-author moderation (e2e)', () => {
  let t: TestApp;
  let moderator: SignedIn;
  let postAuthor: SignedIn;
  let verified: SignedIn;
  let other: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    const admin = await signInAdmin(t);
    moderator = await signUpWithRole(t, admin, 'moderator');
    postAuthor = await signUp(t);
    verified = await signUp(t);
    await verifyEmail(t, verified);
    other = await signUp(t); // unverified: their comments wait as pending
  });
  afterAll(() => t.close());

  const newPost = async (author: SignedIn = postAuthor) => {
    const post = (
      await t.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title: 'Race', content: 'x' })
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    return post.id;
  };
  const comment = (postId: string, as: SignedIn, body: object) =>
    t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', as.bearer).send(body);
  const moderate = (postId: string, id: string, status: string, as: SignedIn) =>
    t.api.post(`/api/v1/posts/${postId}/comments/${id}/moderate`).set('authorization', as.bearer).send({ status });

  it('answers a reply to a missing, an invisible and a deleted parent identically', async () => {
    const postId = await newPost();
    const pending = (await comment(postId, other, { content: 'awaiting moderation' }).expect(201)).body as CommentBody;
    expect(pending.status).toBe('pending');
    const gone = (await comment(postId, verified, { content: 'soon gone' }).expect(201)).body as CommentBody;
    await t.api.delete(`/api/v1/posts/${postId}/comments/${gone.id}`).set('authorization', verified.bearer).expect(204);

    const answers = [];
    for (const parentId of ['BBBBBBBBBBBBBBBBBBBBB', pending.id, gone.id]) {
      const res = await comment(postId, verified, { content: 'reply', parentId }).expect(422);
      const { instance: _i, requestId: _r, ...body } = res.body;
      answers.push(JSON.stringify(body).replaceAll(parentId, '<id>'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0])).toMatchObject({ code: 'unknown_parent_comment', invalidIds: ['<id>'] });
    // The pending comment's author and staff may still reply to it.
    await comment(postId, other, { content: 'self-reply', parentId: pending.id }).expect(201);
    await comment(postId, moderator, { content: 'staff reply', parentId: pending.id }).expect(201);
  });

  /**
   * Holds the app's next transaction that touches `sk` (a Delete or an Update of that comment)
   * until `release()`: a deterministic interleaving of the reply/delete race, which 100 random
   * concurrent requests hit too rarely to fail without the conditions.
   */
  function holdNextTransactionOn(sk: string) {
    const db = t.app.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT);
    const original = db.send.bind(db) as (command: unknown) => Promise<unknown>;
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    (db as { send: unknown }).send = async (command: {
      input?: { TransactItems?: Record<string, { Key?: { SK?: string } }>[] };
    }) => {
      const touches = (command.input?.TransactItems ?? []).some((item) =>
        Object.values(item).some((operation) => operation.Key?.SK === sk),
      );
      if (touches) {
        (db as { send: unknown }).send = original;
        held();
        await released;
      }
      return original(command);
    };
    return { reached, release };
  }

  const commentItems = async (postId: string) =>
    (await t.queryPartition(`POST#${postId}`)).filter((item) => String(item.SK).startsWith('COMMENT#'));

  it("a reply that lands between a delete's read and its write turns the delete into a tombstone", async () => {
    const postId = await newPost();
    const parent = (await comment(postId, verified, { content: 'parent' }).expect(201)).body as CommentBody;
    const [parentItem] = await commentItems(postId);
    const hold = holdNextTransactionOn(String(parentItem.SK));
    const deleting = t.http
      .delete(`/api/v1/posts/${postId}/comments/${parent.id}`)
      .set('authorization', verified.bearer)
      .then((res) => res);
    // The delete read the parent without replies and is about to write (a delete that never touches it fails here).
    await Promise.race([
      hold.reached,
      deleting.then(() => Promise.reject(new Error('the delete did not write the parent'))),
    ]);
    await comment(postId, verified, { content: 'reply', parentId: parent.id }).expect(201);
    hold.release();
    expect((await deleting).status).toBe(204);
    const items = await commentItems(postId);
    expect(items).toHaveLength(2);
    expect(items.find((i) => i.id === parent.id)).toMatchObject({ deleted: true, replyCount: 1 });
  });

  it("a delete that lands between a reply's read and its write refuses the reply", async () => {
    const postId = await newPost();
    const parent = (await comment(postId, verified, { content: 'parent' }).expect(201)).body as CommentBody;
    const [parentItem] = await commentItems(postId);
    const hold = holdNextTransactionOn(String(parentItem.SK));
    const replying = comment(postId, verified, { content: 'reply', parentId: parent.id }).then((res) => res);
    // The reply read its parent and is about to write (a reply that never touches it fails here).
    await Promise.race([
      hold.reached,
      replying.then(() => Promise.reject(new Error('the reply did not write its parent'))),
    ]);
    // The hold is spent: this delete runs through and removes the parent (no replies yet).
    await t.api
      .delete(`/api/v1/posts/${postId}/comments/${parent.id}`)
      .set('authorization', verified.bearer)
      .expect(204);
    hold.release();
    const reply = await replying;
    expect({ status: reply.status, code: reply.body.code }).toEqual({ status: 422, code: 'unknown_parent_comment' });
    expect(await commentItems(postId)).toEqual([]);
  });

  it('100 mixed concurrent replies and deletes leave no orphan and an exact commentCount', async () => {
    const postId = await newPost();
    const parents: CommentBody[] = [];
    for (let i = 0; i < 20; i++) {
      parents.push((await comment(postId, verified, { content: `parent ${i}` }).expect(201)).body as CommentBody);
    }
    const operations = Array.from({ length: 100 }, (_, i) => () => {
      const parent = parents[(i * 7) % parents.length];
      if (i % 5 === 0) {
        // 20 deletes, by the comment's author or the post's author, racing the replies below.
        const as = i % 10 === 0 ? verified : postAuthor;
        return t.http.delete(`/api/v1/posts/${postId}/comments/${parent.id}`).set('authorization', as.bearer);
      }
      return t.http
        .post(`/api/v1/posts/${postId}/comments`)
        .set('authorization', verified.bearer)
        .send({ content: `reply ${i}`, parentId: parent.id });
    });
    // A client retries a 503 (a transaction that lost to a concurrent one more often than the
    // server retries, or a budget spent on a loaded machine): what is checked is that every
    // operation ends as a success or a clear refusal, and that nothing is left half-done.
    // A 503 may come after the write committed (the budget ran out waiting for the answer), so a
    // retried reply can exist twice: each 503 is counted.
    let unanswered = 0;
    const untilAnswered = async (send: () => PromiseLike<{ status: number; body: { id?: string } }>) => {
      for (let attempt = 1; ; attempt++) {
        const res = await send();
        if (res.status !== 503 || attempt === 5) return res;
        unanswered++;
      }
    };
    const answers = await Promise.all(operations.map(untilAnswered));
    const statuses = answers.map((res) => res.status);
    // 404: a second delete of a parent already gone.
    for (const status of statuses) expect([201, 204, 404, 422]).toContain(status);

    const items = await t.queryPartition(`POST#${postId}`);
    const comments = items.filter((item) => String(item.SK).startsWith('COMMENT#'));
    const bySk = new Map(comments.map((c) => [String(c.SK), c]));
    for (const c of comments) {
      const sk = String(c.SK);
      if (Number(c.depth) > 1) expect(bySk.has(sk.slice(0, sk.lastIndexOf('/')))).toBe(true);
      // replyCount is exact: the direct children present. The burst makes the post hot, and a hot
      // post's replies count on their parent's pointer (review 13, M-b1): the two together.
      const children = comments.filter((x) => {
        const xs = String(x.SK);
        return xs.startsWith(`${sk}/`) && !xs.slice(sk.length + 1).includes('/');
      }).length;
      const pointer = Keys.commentPointer(postId, String(c.id));
      const onPointer = Number((await t.getItem(pointer.PK, pointer.SK))?.replyCount ?? 0);
      expect(Number(c.replyCount ?? 0) + onPointer).toBe(children);
    }
    const counted = comments.filter((c) => c.status === 'approved' && !c.deleted).length;
    // A burst makes the post hot: replies past COMMENT_DIRECT_MAX_PER_SECOND count on its comment
    // shards, in commentCount once the stream folded them (src/posts/comment-shards.ts).
    await processStream(t);
    const post = (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body as { commentCount: number };
    expect(post.commentCount).toBe(counted);
    // Every 201 reply is there (and at most one more per 503 answer), and every pointer points at
    // a comment, except at most one per 503: a reply whose transaction outcome was unknown when the
    // budget ran out keeps its pointer by design (docs/data-model.md: deleting it could orphan a
    // comment that did commit), and the author's erasure removes it.
    const created = answers.filter((res) => res.status === 201).map((res) => res.body.id);
    const replies = comments.filter((c) => Number(c.depth) === 2).map((c) => c.id);
    expect(created.length).toBeGreaterThan(0);
    expect(replies).toEqual(expect.arrayContaining(created));
    expect(replies.length).toBeLessThanOrEqual(created.length + unanswered);
    // The pointers live outside the post's partition, each in its own (`CMTID#<postId>#<commentId>`).
    const pointerPrefix = Keys.commentPointer(postId, '').PK;
    const pointers = (await t.allItems()).filter((item) => String(item.PK).startsWith(pointerPrefix));
    expect(pointers.length).toBeGreaterThanOrEqual(comments.length);
    const orphanPointers = pointers.filter((pointer) => !bySk.has(`COMMENT#${String(pointer.path)}`));
    expect(orphanPointers.length).toBeLessThanOrEqual(unanswered);
  });

  it("lets a post's author hide an approved comment on their own post, and nothing more", async () => {
    const postId = await newPost();
    const approved = (await comment(postId, verified, { content: 'off-topic' }).expect(201)).body as CommentBody;
    const pending = (await comment(postId, other, { content: 'pending' }).expect(201)).body as CommentBody;

    const hidden = await moderate(postId, approved.id, 'rejected', postAuthor).expect(200);
    expect(hidden.body.status).toBe('rejected');
    const thread = await t.api.get(`/api/v1/posts/${postId}/comments`).expect(200);
    expect(thread.body.items.map((c: CommentBody) => c.id)).not.toContain(approved.id);
    expect((await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.commentCount).toBe(0);

    // Restoring, spam and approving are for moderators; what the author hid or cannot see is not theirs.
    const another = (await comment(postId, verified, { content: 'on topic' }).expect(201)).body as CommentBody;
    for (const status of ['spam', 'pending', 'approved']) {
      expect((await moderate(postId, another.id, status, postAuthor).expect(403)).body.code).toBe('insufficient_role');
    }
    await moderate(postId, approved.id, 'approved', postAuthor).expect(404);
    expect((await moderate(postId, pending.id, 'rejected', postAuthor).expect(404)).body.code).toBe(
      'comment_not_found',
    );
    // Another user, and the author on someone else's post, may not.
    await moderate(postId, approved.id, 'rejected', other).expect(403);
    const foreignPost = await newPost(other);
    const foreign = (await comment(foreignPost, verified, { content: 'fine' }).expect(201)).body as CommentBody;
    await moderate(foreignPost, foreign.id, 'rejected', postAuthor).expect(403);
    await moderate(postId, approved.id, 'approved', moderator).expect(200);
  });
});
