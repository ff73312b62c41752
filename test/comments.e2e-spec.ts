import { INDEX_SHARDS, shardOf } from '../src/dynamo/sharding.js';
import { expectCappedPageOfOne, listedPage, pageQuery } from './helpers/filled-pages.js';
import { processStream } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  signUpWithRole,
  setUserAttributes,
  type SignedIn,
  type TestApp,
  verifyEmail,
} from './helpers/test-app.js';

interface CommentBody {
  id: string;
  parentId?: string;
  depth: number;
  status: string;
  deleted: boolean;
  content?: string;
  authorId?: string;
}

describe('comments (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  let moderator: SignedIn;
  let postAuthor: SignedIn;
  let verified: SignedIn;
  let unverified: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
    moderator = await signUpWithRole(t, admin, 'moderator');
    postAuthor = await signUp(t);
    verified = await signUp(t);
    await verifyEmail(t, verified);
    unverified = await signUp(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const newPost = async (publish = true) => {
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', postAuthor.bearer)
        .send({ title: 'Discussed', content: 'x' })
        .expect(201)
    ).body as { id: string };
    if (publish)
      await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', postAuthor.bearer).send({}).expect(200);
    return post.id;
  };
  const comment = (postId: string, as: SignedIn, body: object) =>
    t.api.post(`/api/v1/posts/${postId}/comments`).set('authorization', as.bearer).send(body);
  const thread = async (postId: string, as?: SignedIn, limit = 100) => {
    const req = t.api.get(`/api/v1/posts/${postId}/comments?limit=${limit}`);
    return (await (as ? req.set('authorization', as.bearer) : req).expect(200)).body.items as CommentBody[];
  };
  const commentCount = async (postId: string) =>
    (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.commentCount as number;
  const moderate = (postId: string, id: string, status: string, as: SignedIn = moderator) =>
    t.api.post(`/api/v1/posts/${postId}/comments/${id}/moderate`).set('authorization', as.bearer).send({ status });

  /**
   * A verified commenter who said, a second apart: 'kept 1' on one post, 'withdrawn 1'..'withdrawn
   * <n>' on another, then 'kept 2' on the first.
   */
  const commenterOnTwoPosts = async (n: number) => {
    const user = await signUp(t);
    await verifyEmail(t, user);
    const [kept, withdrawn] = [await newPost(), await newPost()];
    const said = async (postId: string, content: string) => {
      t.clock.advance(1_000);
      await comment(postId, user, { content }).expect(201);
    };
    await said(kept, 'kept 1');
    for (let i = 1; i <= n; i++) await said(withdrawn, `withdrawn ${i}`);
    await said(kept, 'kept 2');
    return { user, kept, withdrawn };
  };

  it('orders the thread with replies right after their parents, across pages', async () => {
    const postId = await newPost();
    const c = async (content: string, parentId?: string) => {
      t.clock.advance(1_000); // siblings sort by creation time: make it explicit, not a matter of milliseconds
      return (await comment(postId, verified, { content, parentId }).expect(201)).body as CommentBody;
    };
    const a = await c('A');
    const b = await c('B');
    const a1 = await c('A1', a.id);
    const b1 = await c('B1', b.id);
    const a2 = await c('A2', a.id);
    const a1x = await c('A1x', a1.id);
    expect(a1x.depth).toBe(3);
    const order = (await thread(postId)).map((x) => x.content);
    expect(order).toEqual(['A', 'A1', 'A1x', 'A2', 'B', 'B1']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.api
        .get(`/api/v1/posts/${postId}/comments?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      expect(dynamoCost(res).calls).toBe(2); // the post, one Query
      seen.push(...(res.body.items as CommentBody[]).map((x) => x.content!));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(order);
    expect([a2.parentId, b1.parentId]).toEqual([a.id, b.id]);
  });

  it('attaches replies beyond the depth limit to the deepest allowed ancestor', async () => {
    const postId = await newPost();
    const l1 = (await comment(postId, verified, { content: 'L1' }).expect(201)).body as CommentBody;
    const l2 = (await comment(postId, verified, { content: 'L2', parentId: l1.id }).expect(201)).body as CommentBody;
    const l3 = (await comment(postId, verified, { content: 'L3', parentId: l2.id }).expect(201)).body as CommentBody;
    const l4 = (await comment(postId, verified, { content: 'L4', parentId: l3.id }).expect(201)).body as CommentBody;
    expect(l4).toMatchObject({ depth: 3, parentId: l2.id });
    expect((await thread(postId)).map((x) => x.content)).toEqual(['L1', 'L2', 'L3', 'L4']);
  });

  it('shows each reader what they may see', async () => {
    const postId = await newPost();
    const approved = (await comment(postId, verified, { content: 'visible' }).expect(201)).body as CommentBody;
    const pending = (await comment(postId, unverified, { content: 'waiting' }).expect(201)).body as CommentBody;
    const spam = (await comment(postId, unverified, { content: 'buy now' }).expect(201)).body as CommentBody;
    await moderate(postId, spam.id, 'spam').expect(200);
    const rejected = (await comment(postId, unverified, { content: 'rude' }).expect(201)).body as CommentBody;
    await moderate(postId, rejected.id, 'rejected').expect(200);
    expect(approved.status).toBe('approved');
    expect(pending.status).toBe('pending');

    const ids = async (as?: SignedIn) => (await thread(postId, as)).map((x) => x.id).sort();
    expect(await ids()).toEqual([approved.id]);
    expect(await ids(verified)).toEqual([approved.id]);
    expect(await ids(unverified)).toEqual([approved.id, pending.id, spam.id, rejected.id].sort());
    expect(await ids(moderator)).toEqual([approved.id, pending.id, spam.id, rejected.id].sort());
    expect(await ids(admin)).toEqual([approved.id, pending.id, spam.id, rejected.id].sort());
    expect(await commentCount(postId)).toBe(1);
  });

  it('keeps a deleted comment with replies as a tombstone, and deletes a leaf outright', async () => {
    const postId = await newPost();
    const parent = (await comment(postId, verified, { content: 'parent' }).expect(201)).body as CommentBody;
    const reply = (await comment(postId, verified, { content: 'reply', parentId: parent.id }).expect(201))
      .body as CommentBody;
    expect(await commentCount(postId)).toBe(2);
    await t.api
      .delete(`/api/v1/posts/${postId}/comments/${parent.id}`)
      .set('authorization', verified.bearer)
      .expect(204);
    const items = await thread(postId);
    expect(items[0]).toMatchObject({ id: parent.id, deleted: true });
    expect(items[0].content).toBeUndefined();
    expect(items[0].authorId).toBeUndefined();
    expect(items[1]).toMatchObject({ id: reply.id, content: 'reply' });
    // the post's author may delete comments on their post
    await t.api
      .delete(`/api/v1/posts/${postId}/comments/${reply.id}`)
      .set('authorization', postAuthor.bearer)
      .expect(204);
    expect((await thread(postId)).map((x) => x.id)).toEqual([parent.id]);
    expect(await commentCount(postId)).toBe(0);
    const stranger = await signUp(t);
    const other = (await comment(postId, verified, { content: 'mine' }).expect(201)).body as CommentBody;
    expect(
      (
        await t.api
          .delete(`/api/v1/posts/${postId}/comments/${other.id}`)
          .set('authorization', stranger.bearer)
          .expect(403)
      ).body.code,
    ).toBe('not_comment_author');
  });

  it('lets the author edit with If-Match, recording editedAt', async () => {
    const postId = await newPost();
    const c = (await comment(postId, verified, { content: 'first' }).expect(201)).body as CommentBody;
    const res = await t.api
      .patch(`/api/v1/posts/${postId}/comments/${c.id}`)
      .set('authorization', verified.bearer)
      .set('if-match', '"1"')
      .send({ content: 'second' })
      .expect(200);
    expect(res.body).toMatchObject({ content: 'second', version: 2, status: 'approved' });
    expect(Date.parse(res.body.editedAt)).toBeGreaterThanOrEqual(Date.parse(res.body.createdAt));
    expect(res.body.editedAt).toBe(res.body.updatedAt);
    expect(
      (
        await t.api
          .patch(`/api/v1/posts/${postId}/comments/${c.id}`)
          .set('authorization', verified.bearer)
          .set('if-match', '"1"')
          .send({ content: 'x' })
          .expect(412)
      ).body.code,
    ).toBe('version_mismatch');
    expect(
      (
        await t.api
          .patch(`/api/v1/posts/${postId}/comments/${c.id}`)
          .set('authorization', moderator.bearer)
          .send({ content: 'x' })
          .expect(403)
      ).body.code,
    ).toBe('not_comment_author');
  });

  it('sends an approved comment back to pending when an author the policy would not approve edits it (review 19a, M1)', async () => {
    const postId = await newPost();
    const c = (await comment(postId, unverified, { content: 'harmless' }).expect(201)).body as CommentBody;
    expect(c.status).toBe('pending');
    await moderate(postId, c.id, 'approved').expect(200);
    expect(await commentCount(postId)).toBe(1);
    const edited = await t.api
      .patch(`/api/v1/posts/${postId}/comments/${c.id}`)
      .set('authorization', unverified.bearer)
      .send({ content: 'BUY CHEAP PILLS' })
      .expect(200);
    expect(edited.body).toMatchObject({ content: 'BUY CHEAP PILLS', status: 'pending' });
    // Out of the public thread and the count, back in the moderation queue; its author still sees it.
    expect((await thread(postId)).map((x) => x.id)).toEqual([]);
    expect((await thread(postId, unverified)).map((x) => x.id)).toEqual([c.id]);
    expect(await commentCount(postId)).toBe(0);
    const queue = await t.api
      .get('/api/v1/comments/moderation?status=pending&limit=100')
      .set('authorization', moderator.bearer);
    expect((queue.body as { items: CommentBody[] }).items.map((x) => x.id)).toContain(c.id);
    await moderate(postId, c.id, 'approved').expect(200);
    expect(await commentCount(postId)).toBe(1);
  });

  it('keeps commentCount exact under concurrent creates, approvals, rejections and deletions', async () => {
    const postId = await newPost();
    const pending = await Promise.all(
      Array.from({ length: 10 }, (_, i) => comment(postId, unverified, { content: `p${i}` })),
    );
    const approved = await Promise.all(
      Array.from({ length: 10 }, (_, i) => comment(postId, verified, { content: `a${i}` })),
    );
    expect([...pending, ...approved].every((r) => r.status === 201)).toBe(true);
    const pendingIds = pending.map((r) => (r.body as CommentBody).id);
    const approvedIds = approved.map((r) => (r.body as CommentBody).id);
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => comment(postId, verified, { content: `late${i}` })),
      ...pendingIds.slice(0, 6).map((id) => moderate(postId, id, 'approved')),
      ...pendingIds.slice(6).map((id) => moderate(postId, id, 'rejected')),
      ...approvedIds
        .slice(0, 4)
        .map((id) => t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', verified.bearer)),
      ...approvedIds.slice(4, 7).map((id) => moderate(postId, id, 'spam')),
      // the same approval twice at once must count once
      moderate(postId, pendingIds[0], 'approved'),
    ]);
    const recount = (await thread(postId, moderator)).filter((c) => c.status === 'approved' && !c.deleted).length;
    // The burst made the post hot: comments past COMMENT_DIRECT_MAX_PER_SECOND count on its comment
    // shards, in commentCount once the stream folded them (src/posts/comment-shards.ts).
    await processStream(t);
    expect(await commentCount(postId)).toBe(recount);
    expect(recount).toBe(10 + 6 - 4 - 3 + 10);
  });

  it('queues pending comments oldest first, and they leave the queue when moderated', async () => {
    const postId = await newPost();
    const first = (await comment(postId, unverified, { content: 'q1' }).expect(201)).body as CommentBody;
    t.clock.advance(1_000);
    const second = (await comment(postId, unverified, { content: 'q2' }).expect(201)).body as CommentBody;
    const queue = async () =>
      (
        (
          await t.api
            .get('/api/v1/comments/moderation?status=pending&limit=100')
            .set('authorization', moderator.bearer)
            .expect(200)
        ).body.items as CommentBody[]
      ).map((c) => c.id);
    const before = await queue();
    expect(before.filter((id) => id === first.id || id === second.id)).toEqual([first.id, second.id]);
    await moderate(postId, first.id, 'approved').expect(200);
    expect(await queue()).not.toContain(first.id);
    expect(await queue()).toContain(second.id);
    expect(
      (await t.api.get('/api/v1/comments/moderation').set('authorization', verified.bearer).expect(403)).body.code,
    ).toBe('insufficient_role');
    expect((await moderate(postId, second.id, 'approved', verified).expect(403)).body.code).toBe('insufficient_role');
  });

  it('merges the moderation queue from its shards: every pending comment once, oldest first, across pages; moderated ones leave it', async () => {
    // Issue 15 (review 13, M-b2): a pending comment's queue entry is on one of INDEX_SHARDS GSI1
    // partitions (`MODERATION#pending#<n>`, n from its id), not on one for the whole platform.
    const postIds = [await newPost(), await newPost()];
    const made: CommentBody[] = [];
    for (let i = 0; i < 16; i++) {
      t.clock.advance(1_000); // the queue's order is the creation time: explicit, not a matter of milliseconds
      made.push(
        (await comment(postIds[i % 2], unverified, { content: `queued ${i}` }).expect(201)).body as CommentBody,
      );
    }
    const shards = new Set(made.map((c) => shardOf(c.id)));
    expect(shards.size).toBeGreaterThan(1);
    for (const c of made) {
      const postId = postIds[made.indexOf(c) % 2];
      const [item] = (await t.queryPartition(`POST#${postId}`)).filter((i) => i.id === c.id);
      expect(item).toMatchObject({ GSI1PK: `MODERATION#pending#${shardOf(c.id)}` });
    }
    const mine = new Set(made.map((c) => c.id));
    const walk = async (limit: number) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await t.api
          .get(`/api/v1/comments/moderation?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          .set('authorization', moderator.bearer)
          .expect(200);
        ids.push(...(res.body.items as CommentBody[]).map((c) => c.id));
        cursor = res.body.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 100);
      return ids.filter((id) => mine.has(id));
    };
    // Pages of 3 cut across the shards: each comment once, in creation order.
    expect(await walk(3)).toEqual(made.map((c) => c.id));
    expect(await walk(100)).toEqual(made.map((c) => c.id));
    // Approved and rejected ones leave the queue (their GSI1 keys go); the others stay, in order.
    await moderate(postIds[0], made[0].id, 'approved').expect(200);
    await moderate(postIds[1], made[5].id, 'rejected').expect(200);
    await moderate(postIds[0], made[10].id, 'spam').expect(200);
    const left = made.filter((_, i) => ![0, 5, 10].includes(i)).map((c) => c.id);
    expect(await walk(4)).toEqual(left);
    // A cursor of another listing, or a tampered one, is refused.
    expect(
      (
        await t.api
          .get('/api/v1/comments/moderation?limit=3&cursor=not-a-cursor')
          .set('authorization', moderator.bearer)
          .expect(400)
      ).body.code,
    ).toBe('invalid_cursor');
  });

  it("fills a page of the moderation queue short of deleted posts' comments with at most 2 more reads (session 22)", async () => {
    // A table of its own: the queue is everyone's, and this test needs to know all it holds.
    const s = await createTestApp(ADMIN_ENV);
    try {
      const staff = await signUpWithRole(s, await signInAdmin(s), 'moderator');
      const [author, newcomer] = [await signUp(s), await signUp(s)];
      const post = async () => {
        const id = (
          await s.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title: 'Q', content: 'x' })
        ).body.id as string;
        await s.api.post(`/api/v1/posts/${id}/publish`).set('authorization', author.bearer).send({}).expect(200);
        return id;
      };
      const [kept, deleted] = [await post(), await post()];
      const say = async (postId: string, content: string) => {
        s.clock.advance(1_000); // the queue's order is the creation time
        await s.api
          .post(`/api/v1/posts/${postId}/comments`)
          .set('authorization', newcomer.bearer)
          .send({ content })
          .expect(201);
      };
      // Oldest first: 'kept 1', 4 on the post deleted below, 'kept 2': all pending.
      await say(kept, 'kept 1');
      for (const i of [1, 2, 3, 4]) await say(deleted, `gone ${i}`);
      await say(kept, 'kept 2');
      // Its comments stay in the queue until the stream processor removes them (not run here).
      await s.api.delete(`/api/v1/posts/${deleted}`).set('authorization', author.bearer).expect(204);
      const page = async (limit: number, cursor?: string | null) =>
        listedPage(
          await s.api
            .get('/api/v1/comments/moderation')
            .query(pageQuery(limit, cursor))
            .set('authorization', staff.bearer)
            .expect(200),
          (c) => c.content,
        );
      const read = INDEX_SHARDS + 1; // a Query per shard, the page's posts' summaries
      const GUARD = 1; // the token's session
      // A page of 3 reads 'kept 1' and 2 gone, then the 2 missing (gone), then 2 again: 'kept 2',
      // the last. 3 reads and the token's session check.
      expect(await page(3)).toEqual({ items: ['kept 1', 'kept 2'], nextCursor: null, calls: 3 * read + GUARD });
      // Pages of one: after 'kept 1', 3 reads of gone comments and no more: empty, with a cursor.
      await expectCappedPageOfOne(page, {
        first: 'kept 1',
        firstCalls: read + GUARD,
        cappedCalls: 3 * read + GUARD,
        then: 'kept 2',
      });
    } finally {
      await s.close();
    }
  });

  it("lists a user's approved comments newest first", async () => {
    const postId = await newPost();
    const user = await signUp(t);
    await verifyEmail(t, user);
    const said = async (content: string) => {
      t.clock.advance(1_000); // explicit creation times: the order under test does not hang on milliseconds
      return (await comment(postId, user, { content }).expect(201)).body as CommentBody;
    };
    const oldest = await said('oldest');
    const rejected = await said('rejected');
    const newest = await said('newest');
    await moderate(postId, rejected.id, 'rejected').expect(200);
    const res = await t.api.get(`/api/v1/users/${user.userId}/comments`).expect(200);
    expect((res.body.items as CommentBody[]).map((c) => c.content)).toEqual(['newest', 'oldest']);
    expect((res.body.items as CommentBody[]).map((c) => c.id)).toEqual([newest.id, oldest.id]);
  });

  it("keeps a withdrawn post's comments out of the commenter's list until it is out again (review 19a L1)", async () => {
    const { user, kept, withdrawn } = await commenterOnTwoPosts(2);
    const move = (postId: string, to: 'publish' | 'unpublish' | 'archive') =>
      t.api.post(`/api/v1/posts/${postId}/${to}`).set('authorization', postAuthor.bearer).send({}).expect(200);
    const listed = async (limit = 20) => {
      const res = await t.api.get(`/api/v1/users/${user.userId}/comments?limit=${limit}`).expect(200);
      expect(dynamoCost(res).calls).toBe(4); // the index, the comments, their posts' summaries, the user's status
      return (res.body.items as CommentBody[]).map((c) => c.content);
    };
    /** Every page's items and calls, following the cursor. */
    const paged = async (limit: number) => {
      const pages: { items: (string | undefined)[]; calls: number }[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.api
          .get(`/api/v1/users/${user.userId}/comments?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        pages.push({ items: (res.body.items as CommentBody[]).map((c) => c.content), calls: dynamoCost(res).calls });
        cursor = res.body.nextCursor as string | null;
      } while (cursor);
      return pages;
    };
    expect(await listed()).toEqual(['kept 2', 'withdrawn 2', 'withdrawn 1', 'kept 1']);

    await move(withdrawn, 'unpublish');
    expect(await listed()).toEqual(['kept 2', 'kept 1']);
    // Pages of one: the page after 'kept 2' reads the two withdrawn post's comments (hidden) and
    // fills itself with 'kept 1': 3 reads of 3 calls, and the status. A last empty page may follow
    // (DynamoDB's Limit), without a cursor.
    const pages = await paged(1);
    expect(pages.slice(0, 2)).toEqual([
      { items: ['kept 2'], calls: 4 },
      { items: ['kept 1'], calls: 10 },
    ]);
    expect(pages.slice(2).flatMap((page) => page.items)).toEqual([]);
    expect(pages.length).toBeLessThanOrEqual(3);

    await move(withdrawn, 'publish');
    expect(await listed()).toEqual(['kept 2', 'withdrawn 2', 'withdrawn 1', 'kept 1']);

    await move(withdrawn, 'archive');
    expect(await listed()).toEqual(['kept 2', 'kept 1']);
    // The moderation queue is staff's: there a withdrawn post's pending comments stay listed.
    const waiting = (await comment(kept, unverified, { content: 'queued' }).expect(201)).body as CommentBody;
    await move(kept, 'unpublish');
    expect(await listed()).toEqual([]);
    const queue = await t.api.get('/api/v1/comments/moderation?limit=100').set('authorization', moderator.bearer);
    expect((queue.body.items as CommentBody[]).map((c) => c.id)).toContain(waiting.id);

    await move(kept, 'publish');
    await move(withdrawn, 'publish');
    expect(await listed()).toEqual(['kept 2', 'withdrawn 2', 'withdrawn 1', 'kept 1']);
  });

  it("fills a page of the commenter's list short of hidden comments with at most 2 more reads: empty with a cursor only after 3 reads found none; a deactivated commenter's list is empty for 1 call (session 22)", async () => {
    const { user, withdrawn } = await commenterOnTwoPosts(4);
    await t.api
      .post(`/api/v1/posts/${withdrawn}/unpublish`)
      .set('authorization', postAuthor.bearer)
      .send({})
      .expect(200);
    const page = async (limit: number, cursor?: string | null) =>
      listedPage(
        await t.api.get(`/api/v1/users/${user.userId}/comments`).query(pageQuery(limit, cursor)).expect(200),
        (c) => c.content,
      );
    // Newest first: 'kept 2', 4 hidden, 'kept 1'. A page of 3 reads 'kept 2' and 2 hidden, then the
    // 2 missing (both hidden), then 2 again: 'kept 1', the last. 3 reads (a Query, the comments,
    // their posts' summaries each) and the status: 10 calls.
    expect(await page(3)).toMatchObject({ items: ['kept 2', 'kept 1'], calls: 10 });
    // Pages of one: after 'kept 2', 3 reads of hidden comments and no more: empty, with a cursor.
    const first = await expectCappedPageOfOne(page, {
      first: 'kept 2',
      firstCalls: 4,
      cappedCalls: 10,
      then: 'kept 1',
    });

    // Deactivated: the list is an empty last page for the status read alone (1 call), where it was
    // read beside the page: the capped page's 9 calls and the status (session 22).
    await setUserAttributes(t, user.userId, { status: 'inactive' });
    expect(await page(1, first.nextCursor)).toEqual({ items: [], nextCursor: null, calls: 1 });
    expect(await page(20)).toEqual({ items: [], nextCursor: null, calls: 1 });
  });

  it('fills a thread page short of comments hidden from the reader with at most 2 more Queries (session 22)', async () => {
    const postId = await newPost();
    const say = async (as: SignedIn, content: string) => {
      t.clock.advance(1_000);
      await comment(postId, as, { content }).expect(201);
    };
    // Oldest first: 'a', 3 pending (an unverified account's), 'b'.
    await say(verified, 'a');
    for (const i of [1, 2, 3]) await say(unverified, `pending ${i}`);
    await say(verified, 'b');
    const page = async (limit: number, cursor?: string | null, as?: SignedIn) => {
      const req = t.api.get(`/api/v1/posts/${postId}/comments`).query(pageQuery(limit, cursor));
      return listedPage(await (as ? req.set('authorization', as.bearer) : req).expect(200), (c) => c.content);
    };
    // A page of 3 reads 'a' and 2 pending (the filter runs after the Query's Limit), then the 2
    // missing: 'pending 3' and 'b', then the 1 still missing: none. The post and 3 Queries.
    expect(await page(3)).toEqual({ items: ['a', 'b'], nextCursor: null, calls: 4 });
    // Pages of one: after 'a', 3 Queries of pending comments: empty, with its cursor; then 'b'.
    await expectCappedPageOfOne(page, { first: 'a', firstCalls: 2, cappedCalls: 4, then: 'b' });
    // Staff see every comment: one Query fills the page.
    expect(await page(3, undefined, moderator)).toMatchObject({
      items: ['a', 'pending 1', 'pending 2'],
      calls: 2 + 1, // and the token's session check
    });
  });

  it('likes comments idempotently and exactly', async () => {
    const postId = await newPost();
    const c = (await comment(postId, verified, { content: 'likeable' }).expect(201)).body as CommentBody;
    const users = await Promise.all(Array.from({ length: 10 }, () => signUp(t)));
    await Promise.all(
      users.map((u) =>
        t.api.put(`/api/v1/posts/${postId}/comments/${c.id}/like`).set('authorization', u.bearer).expect(200),
      ),
    );
    await Promise.all(
      Array.from({ length: 10 }, () =>
        t.api.put(`/api/v1/posts/${postId}/comments/${c.id}/like`).set('authorization', users[0].bearer),
      ),
    );
    const after = await t.api
      .delete(`/api/v1/posts/${postId}/comments/${c.id}/like`)
      .set('authorization', users[1].bearer)
      .expect(200);
    expect(after.body).toEqual({ liked: false, likeCount: 9 });
  });

  it("refuses likes of a withdrawn post's comments to those the thread hides it from, and writes nothing (review 20b L3)", async () => {
    const postId = await newPost();
    const c = (await comment(postId, verified, { content: 'on a post that goes' }).expect(201)).body as CommentBody;
    const reader = await signUp(t);
    const like = (as: SignedIn) =>
      t.api.put(`/api/v1/posts/${postId}/comments/${c.id}/like`).set('authorization', as.bearer);
    const unlike = (as: SignedIn) =>
      t.api.delete(`/api/v1/posts/${postId}/comments/${c.id}/like`).set('authorization', as.bearer);
    await like(verified).expect(200);
    const move = (to: 'publish' | 'unpublish' | 'archive') =>
      t.api.post(`/api/v1/posts/${postId}/${to}`).set('authorization', postAuthor.bearer).send({}).expect(200);

    for (const to of ['unpublish', 'archive'] as const) {
      if (to === 'archive') await move('publish');
      await move(to);
      // The thread is 404 for the public, and so are its comments' likes: no id probe, no write.
      const refused = await like(reader).expect(404);
      expect(refused.body.code).toBe('post_not_found');
      expect((await unlike(verified).expect(404)).body.code).toBe('post_not_found');
      // The post's author sees the withdrawn thread (canSeePost), so may still like in it.
      await like(postAuthor).expect(200);
      await unlike(postAuthor).expect(200);
    }
    await move('publish');
    // Nothing was written by the refusals: verified's like stands, the reader's never landed.
    expect((await like(reader).expect(200)).body).toEqual({ liked: true, likeCount: 2 });
  });

  it('answers 404 for drafts and unknown posts, and 4xx for bad input', async () => {
    const draft = await newPost(false);
    expect((await comment(draft, verified, { content: 'x' }).expect(404)).body.code).toBe('post_not_found');
    expect((await t.api.get(`/api/v1/posts/${draft}/comments`).expect(404)).body.code).toBe('post_not_found');
    expect((await comment('AAAAAAAAAAAAAAAAAAAAA', verified, { content: 'x' }).expect(404)).body.code).toBe(
      'post_not_found',
    );
    const postId = await newPost();
    const otherPost = await newPost();
    const foreign = (await comment(otherPost, verified, { content: 'elsewhere' }).expect(201)).body as CommentBody;
    const before = (await t.allItems()).length;
    expect((await comment(postId, verified, { content: '' }).expect(400)).body.code).toBe('validation_failed');
    expect((await comment(postId, verified, { content: 'x'.repeat(10_001) }).expect(400)).body.code).toBe(
      'validation_failed',
    );
    expect(
      (await comment(postId, verified, { content: 'x', parentId: 'BBBBBBBBBBBBBBBBBBBBB' }).expect(422)).body.code,
    ).toBe('unknown_parent_comment');
    expect((await comment(postId, verified, { content: 'x', parentId: foreign.id }).expect(422)).body.code).toBe(
      'unknown_parent_comment',
    );
    expect((await comment(postId, verified, { content: 'x', status: 'approved' }).expect(400)).body.code).toBe(
      'validation_failed',
    );
    expect((await t.allItems()).length).toBe(before);
    await comment(postId, verified, { content: 'x'.repeat(10_000) }).expect(201);
  });

  it('removes comments with their post', async () => {
    const postId = await newPost();
    await comment(postId, verified, { content: 'bye' }).expect(201);
    await t.api.delete(`/api/v1/posts/${postId}`).set('authorization', postAuthor.bearer).expect(204);
    await processStream(t); // the stream processor removes the comments, after the request
    // Only the counter item's tombstone stays (until its ttl), so a late comment fails on it.
    expect(await t.queryPartition(`POST#${postId}`)).toEqual([
      expect.objectContaining({ SK: 'COUNTS', deletedAt: expect.any(String) }),
    ]);
  });
});

describe('hard-deleting an author (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps their posts and comments, credited to deleted-user', async () => {
    const admin = await signInAdmin(t);
    const leaving = await signUp(t);
    await verifyEmail(t, leaving);
    const reader = await signUp(t);
    await verifyEmail(t, reader);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', leaving.bearer)
        .send({ title: 'Legacy', content: 'x' })
        .expect(201)
    ).body as {
      id: string;
    };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', leaving.bearer).send({}).expect(200);
    const mine = (
      await t.api
        .post(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', leaving.bearer)
        .send({ content: 'my words' })
        .expect(201)
    ).body as CommentBody;
    const theirs = (
      await t.api
        .post(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', reader.bearer)
        .send({ content: 'reply', parentId: mine.id })
        .expect(201)
    ).body as CommentBody;

    await t.api.put(`/api/v1/posts/${post.id}/like`).set('authorization', leaving.bearer).expect(200);
    await t.api
      .put(`/api/v1/posts/${post.id}/comments/${theirs.id}/like`)
      .set('authorization', leaving.bearer)
      .expect(200);

    await t.api.delete(`/api/v1/users/${leaving.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);

    const read = await t.api.get(`/api/v1/posts/${post.id}`).expect(200);
    expect(read.body.authorId).toBe('deleted-user');
    const thread = (await t.api.get(`/api/v1/posts/${post.id}/comments`).expect(200)).body.items as CommentBody[];
    expect(thread.map((c) => [c.id, c.authorId, c.content])).toEqual([
      [mine.id, 'deleted-user', 'my words'],
      [theirs.id, reader.userId, 'reply'],
    ]);
    expect(read.body.commentCount).toBe(2);
    expect(read.body.likeCount).toBe(0);
    expect(thread[1]).toMatchObject({ likeCount: 0 });
    await processStream(t); // the account's profile and sessions go after the request
    const leftovers = (await t.allItems()).filter((item) => JSON.stringify(item).includes(leaving.userId));
    expect(leftovers).toEqual([]);
  });
});
