import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nanoid } from 'nanoid';
import { toItemChange } from '../src/dynamo/stream-record.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { processStream, streamRecords } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

/**
 * A suspended or deactivated account's scheduled posts (review 21a M3): the status change takes
 * them back to draft through the stream processor, so none goes out at its time; what the account
 * had published stays where it was (L2: the personal feed too, as documented).
 */
describe('a suspended or deactivated author’s scheduled posts (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const setStatus = (user: SignedIn, status: string) =>
    t.api.patch(`/api/v1/users/${user.userId}/status`).set('authorization', admin.bearer).send({ status }).expect(200);
  const follow = (as: SignedIn, id: string) =>
    t.api.put(`/api/v1/users/${id}/follow`).set('authorization', as.bearer).expect(200);
  const feedIds = async (as?: SignedIn) => {
    const res = as
      ? await t.api.get('/api/v1/feed').set('authorization', as.bearer).expect(200)
      : await t.api.get('/api/v1/posts').expect(200);
    return (res.body as { items: { id: string }[] }).items.map((post) => post.id);
  };
  const postCount = async (kind: 'tags' | 'categories', slug: string) =>
    ((await t.api.get(`/api/v1/${kind}/by-slug/${slug}`).expect(200)).body as { postCount: number }).postCount;
  /** The post as its author or an admin reads it (`status` included). */
  const statusOf = async (postId: string) =>
    (
      (await t.api.get(`/api/v1/posts/${postId}`).set('authorization', admin.bearer).expect(200)).body as {
        status: string;
      }
    ).status;

  async function post(author: SignedIn, body: object, publishAt?: string): Promise<string> {
    const created = await t.api
      .post('/api/v1/posts')
      .set('authorization', author.bearer)
      .send({ title: `Post ${nanoid(6)}`, content: 'x', ...body })
      .expect(201);
    const id = (created.body as { id: string }).id;
    await t.api
      .post(`/api/v1/posts/${id}/publish`)
      .set('authorization', author.bearer)
      .send(publishAt ? { publishAt } : {})
      .expect(200);
    return id;
  }
  const inSeconds = (s: number) => new Date(t.clock.now().getTime() + s * 1000).toISOString();
  const statusRecords = async (user: SignedIn) =>
    (await streamRecords(t)).filter((record) => {
      const change = toItemChange(record);
      return change.key.PK === `USER#${user.userId}` && change.key.SK === 'USER' && change.event === 'MODIFY';
    });

  it.each(['suspended', 'inactive'])(
    'a move to %s takes the scheduled posts back to draft, with their counts; published ones stay; reactivation brings nothing back; a replayed record changes nothing',
    async (status) => {
      const [author, reader] = [await signUp(t), await signUp(t)];
      await follow(reader, author.userId);
      const tag = (
        await t.api
          .post('/api/v1/tags')
          .set('authorization', admin.bearer)
          .send({ name: `T${nanoid(8)}` })
          .expect(201)
      ).body as { id: string; slug: string };
      const category = (
        await t.api
          .post('/api/v1/categories')
          .set('authorization', admin.bearer)
          .send({ name: `C${nanoid(8)}` })
          .expect(201)
      ).body as { id: string; slug: string };
      const taxonomy = { tagIds: [tag.id], categoryId: category.id };
      const published = await post(author, taxonomy);
      const scheduled = [await post(author, taxonomy, inSeconds(5)), await post(author, {}, inSeconds(3600))];
      await processStream(t);
      expect(await postCount('tags', tag.slug)).toBe(2);
      expect(await postCount('categories', category.slug)).toBe(2);

      await setStatus(author, status);
      await processStream(t);
      t.clock.advance(10_000); // past the first post's time

      for (const id of scheduled) {
        await t.api.get(`/api/v1/posts/${id}`).expect(404);
        expect(await statusOf(id)).toBe('draft');
      }
      expect(await feedIds()).not.toContain(scheduled[0]);
      expect(await feedIds(reader)).not.toContain(scheduled[0]);
      expect(await postCount('tags', tag.slug)).toBe(1);
      expect(await postCount('categories', category.slug)).toBe(1);
      // What was out before stays out, in the followers' feeds too (docs/data-model.md, "Deleting users").
      await t.api.get(`/api/v1/posts/${published}`).expect(200);
      expect(await feedIds(reader)).toContain(published);

      // Reactivated: nothing comes back by itself; the author schedules again.
      await setStatus(author, 'active');
      await processStream(t);
      expect(await statusOf(scheduled[0])).toBe('draft');
      const login = await t.api.post('/api/v1/auth/login').send({ email: author.email, password: author.password });
      const again = `Bearer ${(login.body as { accessToken: string }).accessToken}`;
      await t.api
        .post(`/api/v1/posts/${scheduled[0]}/publish`)
        .set('authorization', again)
        .send({ publishAt: inSeconds(5) })
        .expect(200);
      await processStream(t);

      // The status change's record delivered again (at-least-once): the new schedule stays.
      const records = await statusRecords(author);
      expect(records.length).toBeGreaterThanOrEqual(2);
      await t.app.get(StreamProcessor).handleBatch(records);
      expect(await statusOf(scheduled[0])).toBe('scheduled');
      expect(await postCount('tags', tag.slug)).toBe(2);
      t.clock.advance(10_000);
      await t.api.get(`/api/v1/posts/${scheduled[0]}`).expect(200);
    },
  );

  it('withdraws what was scheduled at the change even when the processor comes after its time', async () => {
    const author = await signUp(t);
    const id = await post(author, {}, inSeconds(5));
    await setStatus(author, 'suspended');
    t.clock.advance(10_000);
    // The processor has not run yet: the post went out at its time...
    await t.api.get(`/api/v1/posts/${id}`).expect(200);
    await processStream(t);
    // ...and is withdrawn when it runs, as it was scheduled when the account was suspended.
    await t.api.get(`/api/v1/posts/${id}`).expect(404);
    expect(await feedIds()).not.toContain(id);
    expect(await statusOf(id)).toBe('draft');
  });

  it('an erased account’s scheduled posts go back to draft as they are anonymised, before the processor runs', async () => {
    const author = await signUp(t);
    const id = await post(author, {}, inSeconds(5));
    await t.api.delete(`/api/v1/users/${author.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);
    t.clock.advance(10_000);
    await t.api.get(`/api/v1/posts/${id}`).expect(404);
    expect(await feedIds()).not.toContain(id);
    const read = (await t.api.get(`/api/v1/posts/${id}`).set('authorization', admin.bearer).expect(200)).body as {
      status: string;
      authorId: string;
    };
    expect(read).toMatchObject({ status: 'draft', authorId: 'deleted-user' });
    await processStream(t);
    expect(await statusOf(id)).toBe('draft');
  });

  describe('an admin’s listing of a user’s posts in any status (review 21b)', () => {
    type Listed = { items: { id: string; status: string }[]; nextCursor: string | null };
    const allPosts = (user: string, as: SignedIn | undefined, query = '') => {
      const request = t.api.get(`/api/v1/users/${user}/posts/all${query}`);
      return as ? request.set('authorization', as.bearer) : request;
    };
    const draft = async (author: SignedIn) =>
      (
        (
          await t.api
            .post('/api/v1/posts')
            .set('authorization', author.bearer)
            .send({ title: `Draft ${nanoid(6)}`, content: 'x' })
            .expect(201)
        ).body as { id: string }
      ).id;

    it('shows a suspended author’s withdrawn and unpublished posts, newest first, by status, one index Query a page', async () => {
      const author = await signUp(t);
      const published = await post(author, {});
      const drafted = await draft(author);
      const scheduled = await post(author, {}, inSeconds(3600));
      await setStatus(author, 'suspended');
      await processStream(t); // the scheduled post goes back to draft

      const all = await allPosts(author.userId, admin).expect(200);
      expect((all.body as Listed).items.map((p) => [p.id, p.status])).toEqual([
        [scheduled, 'draft'],
        [drafted, 'draft'],
        [published, 'published'],
      ]);
      // the Query, the page's counter items and the user's status, beside the guard's read
      expect(dynamoCost(all).calls).toBe(3 + 1);
      const drafts = (await allPosts(author.userId, admin, '?status=draft').expect(200)).body as Listed;
      expect(drafts.items.map((p) => p.id)).toEqual([scheduled, drafted]);

      // a deactivated account's list too (its public list is empty)
      await setStatus(author, 'inactive');
      expect(((await allPosts(author.userId, admin).expect(200)).body as Listed).items).toHaveLength(3);
      expect(((await t.api.get(`/api/v1/users/${author.userId}/posts`).expect(200)).body as Listed).items).toEqual([]);
    });

    it('lists scheduled posts as scheduled, pages with a cursor bound to the user’s list', async () => {
      const author = await signUp(t);
      const other = await signUp(t);
      const ids = [await draft(author), await post(author, {}, inSeconds(3600)), await draft(author)];
      await draft(other);
      await draft(other);
      const scheduled = (await allPosts(author.userId, admin, '?status=scheduled').expect(200)).body as Listed;
      expect(scheduled.items.map((p) => [p.id, p.status])).toEqual([[ids[1], 'scheduled']]);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = (await allPosts(author.userId, admin, query).expect(200)).body as Listed;
        seen.push(...page.items.map((p) => p.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());

      const first = (await allPosts(other.userId, admin, '?limit=1').expect(200)).body as Listed;
      expect(first.nextCursor).toEqual(expect.any(String));
      // another user's cursor is refused (a cursor is bound to its list)
      const foreign = await allPosts(author.userId, admin, `?cursor=${encodeURIComponent(first.nextCursor!)}`);
      expect(`${foreign.status} ${foreign.body.code}`).toBe('400 invalid_cursor');
      // the author's own list is the same list: its cursor goes on in the admin's
      const own = await t.api.get('/api/v1/users/me/posts?limit=1').set('authorization', author.bearer).expect(200);
      const next = (
        await allPosts(author.userId, admin, `?cursor=${encodeURIComponent(own.body.nextCursor as string)}`).expect(200)
      ).body as Listed;
      expect(next.items.map((p) => p.id)).toEqual([ids[1], ids[0]]);
    });

    it('refuses anyone but an admin (403, their own id too; 401 without a token), an unknown id (404), bad input (400)', async () => {
      const author = await signUp(t);
      await draft(author);
      const moderator = await signUpWithRole(t, admin, 'moderator');
      for (const [caller, id] of [
        [author, author.userId],
        [moderator, author.userId],
        [moderator, moderator.userId],
        [author, admin.userId],
      ] as const) {
        const res = await allPosts(id, caller);
        expect(`${res.status} ${res.body.code}`).toBe('403 insufficient_role');
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
      expect((await allPosts(author.userId, undefined).expect(401)).body.code).toBe('missing_token');

      const unknown = await allPosts('AAAAAAAAAAAAAAAAAAAAA', admin).expect(404);
      expect(unknown.body.code).toBe('user_not_found');
      expect(unknown.headers['content-type']).toMatch(/problem\+json/);
      // an erased account is gone: its posts are deleted-user's
      const erased = await signUp(t);
      await draft(erased);
      await t.api.delete(`/api/v1/users/${erased.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);
      expect((await allPosts(erased.userId, admin).expect(404)).body.code).toBe('user_not_found');

      for (const query of ['?status=deleted', '?limit=0', '?cursor=nonsense']) {
        const res = await allPosts(author.userId, admin, query);
        expect(res.status).toBe(400);
        expect(['validation_failed', 'invalid_cursor']).toContain(res.body.code);
      }
      expect((await allPosts('me', admin).expect(400)).body.code).toBe('validation_failed');
    });
  });
});
