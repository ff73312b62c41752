import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { sweepOrphans } from '../src/admin-tools/orphan-sweep.js';
import { atScale } from './helpers/scale.js';
import { processStream } from './helpers/stream.js';
import { batchWriteAll } from '../src/dynamo/batch.js';
import { INDEX_SHARDS, shardOf } from '../src/dynamo/sharding.js';
import { AdminBootstrap } from '../src/users/admin-bootstrap.js';
import { toUserItem } from '../src/users/users.repository.js';
import {
  createTestApp,
  dynamoCost,
  SEEDING_TIMEOUT_MS,
  type SignedIn,
  signUp,
  publishPost,
  type TestApp,
  seededUser,
} from './helpers/test-app.js';

const ADMIN = { email: 'root@example.com', password: 'root-password-1' };

/** Users in the larger directory of the page-cost test: 1,000 in `npm run test:scale`. */
const LARGE_DIRECTORY = atScale(300, 1_000);

describe('users: administration (e2e)', () => {
  let t: TestApp;
  let admin: { bearer: string; userId: string };

  beforeAll(async () => {
    t = await createTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const res = await t.api.post('/api/v1/auth/login').send(ADMIN).expect(200);
    admin = { bearer: `Bearer ${res.body.accessToken}`, userId: res.body.user.id };
  });
  afterAll(async () => {
    await t.close();
  });

  const as = (bearer: string) => ({
    get: (url: string) => t.api.get(url).set('authorization', bearer),
    patch: (url: string) => t.api.patch(url).set('authorization', bearer),
    delete: (url: string) => t.api.delete(url).set('authorization', bearer),
    post: (url: string) => t.api.post(url).set('authorization', bearer),
  });

  describe('the first admin', () => {
    it('is created active and verified from ADMIN_EMAIL/ADMIN_PASSWORD, idempotently', async () => {
      const me = await as(admin.bearer).get('/api/v1/users/me').expect(200);
      expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin', status: 'active', emailVerified: true });
      await t.app.get(AdminBootstrap).onApplicationBootstrap();
      const users = (await t.allItems()).filter((i) => i.SK === 'USER' && i.email === ADMIN.email);
      expect(users).toHaveLength(1);
      expect((await t.getItem('STATS#USERS', 'ACTIVE_ADMINS'))?.activeAdmins).toBe(1);
    });
  });

  describe('authorization', () => {
    it('refuses users and moderators on every admin route with 403', async () => {
      const user = await signUp(t);
      const moderator = await signUp(t);
      await as(admin.bearer).patch(`/api/v1/users/${moderator.userId}/role`).send({ role: 'moderator' }).expect(200);
      for (const caller of [user, moderator]) {
        const api = as(caller.bearer);
        const results = await Promise.all([
          api.get('/api/v1/users'),
          api.patch(`/api/v1/users/${user.userId}/role`).send({ role: 'admin' }),
          api.patch(`/api/v1/users/${user.userId}/status`).send({ status: 'suspended' }),
          api.delete(`/api/v1/users/${user.userId}?mode=hard`),
        ]);
        expect(results.map((r) => `${r.status} ${String(r.body.code)}`)).toEqual(
          Array(4).fill('403 insufficient_role'),
        );
      }
      expect((await t.getItem(`USER#${user.userId}`, 'USER'))?.role).toBe('user');
    });

    it('refuses anonymous callers with 401', async () => {
      expect((await t.api.get('/api/v1/users').expect(401)).body.code).toBe('missing_token');
    });
  });

  describe('roles and statuses', () => {
    it('changes a role, with ETag and a 412 for a stale If-Match', async () => {
      const user = await signUp(t);
      const res = await as(admin.bearer)
        .patch(`/api/v1/users/${user.userId}/role`)
        .send({ role: 'moderator' })
        .expect(200);
      expect(res.body.role).toBe('moderator');
      expect(res.headers.etag).toBe(`"${res.body.version}"`);
      const stale = await as(admin.bearer)
        .patch(`/api/v1/users/${user.userId}/role`)
        .set('if-match', '"1"')
        .send({ role: 'user' })
        .expect(412);
      expect(stale.body.code).toBe('version_mismatch');
      expect((await t.getItem(`USER#${user.userId}`, 'USER'))?.role).toBe('moderator');
    });

    it('suspending revokes every session at once', async () => {
      const user = await signUp(t);
      await t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(200);
      await as(admin.bearer).patch(`/api/v1/users/${user.userId}/status`).send({ status: 'suspended' }).expect(200);
      expect((await t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(401)).body.code).toBe(
        'session_revoked',
      );
      expect(
        (await t.api.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401)).body.code,
      ).toBe('invalid_refresh_token');
      expect(
        (await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(403)).body
          .code,
      ).toBe('account_suspended');
      await as(admin.bearer).patch(`/api/v1/users/${user.userId}/status`).send({ status: 'active' }).expect(200);
      await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    });

    it("hides a deactivated account's lists of posts and comments as its profile, not a suspended one's; an admin's reactivation brings them back (review 20b L4)", async () => {
      const user = await signUp(t);
      const postId = await publishPost(t, user, 'Stays out there');
      const comment = await t.api
        .post(`/api/v1/posts/${postId}/comments`)
        .set('authorization', user.bearer)
        .send({ content: 'mine' })
        .expect(201);
      await as(admin.bearer)
        .post(`/api/v1/posts/${postId}/comments/${comment.body.id}/moderate`)
        .send({ status: 'approved' })
        .expect(200);
      const lists = async (userId: string) => {
        const ids = async (url: string) => {
          const res = await t.api.get(url).expect(200);
          expect(res.body.nextCursor).toBeNull();
          return (res.body.items as { id: string }[]).map((item) => item.id);
        };
        return {
          posts: await ids(`/api/v1/users/${userId}/posts`),
          filtered: await ids(`/api/v1/posts?author=${userId}`),
          comments: await ids(`/api/v1/users/${userId}/comments`),
        };
      };
      const shown = { posts: [postId], filtered: [postId], comments: [comment.body.id] };
      const hidden = { posts: [], filtered: [], comments: [] };
      expect(await lists(user.userId)).toEqual(shown);
      // An unknown id answers the same empty lists (not a 404): a deactivated account's are that.
      expect(await lists('x'.repeat(21))).toEqual(hidden);

      await as(admin.bearer).patch(`/api/v1/users/${user.userId}/status`).send({ status: 'suspended' }).expect(200);
      await t.api.get(`/api/v1/users/${user.userId}`).expect(200);
      expect(await lists(user.userId)).toEqual(shown);
      await as(admin.bearer).patch(`/api/v1/users/${user.userId}/status`).send({ status: 'active' }).expect(200);

      const again = await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      await t.api
        .delete('/api/v1/users/me')
        .set('authorization', `Bearer ${again.body.accessToken}`)
        .send({ password: user.password })
        .expect(204);
      await t.api.get(`/api/v1/users/${user.userId}`).expect(404);
      expect(await lists(user.userId)).toEqual(hidden);
      // The content stays where it is public by itself: the feed, by id, in its thread.
      expect((await t.api.get('/api/v1/posts').expect(200)).body.items.map((p: { id: string }) => p.id)).toContain(
        postId,
      );
      await t.api.get(`/api/v1/posts/${postId}`).expect(200);
      const thread = await t.api.get(`/api/v1/posts/${postId}/comments`).expect(200);
      expect(thread.body.items.map((c: { id: string }) => c.id)).toEqual([comment.body.id]);

      await as(admin.bearer).patch(`/api/v1/users/${user.userId}/status`).send({ status: 'active' }).expect(200);
      await t.api.get(`/api/v1/users/${user.userId}`).expect(200);
      expect(await lists(user.userId)).toEqual(shown);
    });

    it('refuses to demote or suspend the last active admin (409 last_admin)', async () => {
      const demote = await as(admin.bearer)
        .patch(`/api/v1/users/${admin.userId}/role`)
        .send({ role: 'user' })
        .expect(409);
      expect(demote.body.code).toBe('last_admin');
      const suspend = await as(admin.bearer)
        .patch(`/api/v1/users/${admin.userId}/status`)
        .send({ status: 'suspended' })
        .expect(409);
      expect(suspend.body.code).toBe('last_admin');
      expect(
        (await as(admin.bearer).delete('/api/v1/users/me').send({ password: ADMIN.password }).expect(409)).body.code,
      ).toBe('last_admin');
      expect(await t.getItem(`USER#${admin.userId}`, 'USER')).toMatchObject({ role: 'admin', status: 'active' });
    });

    it('keeps one admin when two admins demote each other concurrently', async () => {
      // Its own app: either admin may lose, and the suite's admin must stay an admin for the other tests.
      const own = await createTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
      try {
        const first = (await own.api.post('/api/v1/auth/login').send(ADMIN).expect(200)).body as {
          accessToken: string;
          user: { id: string };
        };
        const firstBearer = `Bearer ${first.accessToken}`;
        const second = await signUp(own);
        await own.api
          .patch(`/api/v1/users/${second.userId}/role`)
          .set('authorization', firstBearer)
          .send({ role: 'admin' })
          .expect(200);
        await own.api
          .patch(`/api/v1/users/${second.userId}/status`)
          .set('authorization', firstBearer)
          .send({ status: 'active' })
          .expect(200);
        expect((await own.getItem('STATS#USERS', 'ACTIVE_ADMINS'))?.activeAdmins).toBe(2);
        const [a, b] = await Promise.all([
          own.api.patch(`/api/v1/users/${second.userId}/role`).set('authorization', firstBearer).send({ role: 'user' }),
          own.api
            .patch(`/api/v1/users/${first.user.id}/role`)
            .set('authorization', second.bearer)
            .send({ role: 'user' }),
        ]);
        const answers = [a, b].map((r) => `${r.status} ${r.status === 200 ? r.body.role : r.body.code}`).sort();
        // The loser is refused as the last admin, or (when the winner's change landed first) no longer an admin.
        expect([
          ['200 user', '403 insufficient_role'],
          ['200 user', '409 last_admin'],
        ]).toContainEqual(answers);
        const admins = (await own.allItems()).filter(
          (i) => i.SK === 'USER' && i.role === 'admin' && i.status === 'active',
        );
        expect(admins.map((i) => i.id)).toEqual([a.status === 200 ? first.user.id : second.userId]);
        expect((await own.getItem('STATS#USERS', 'ACTIVE_ADMINS'))?.activeAdmins).toBe(1);
      } finally {
        await own.close();
      }
    });
  });

  describe('DELETE /users/{id}', () => {
    it('soft-deletes by default: inactive, sessions revoked, public page gone', async () => {
      const user = await signUp(t);
      await as(admin.bearer).delete(`/api/v1/users/${user.userId}`).expect(204);
      expect(await t.getItem(`USER#${user.userId}`, 'USER')).toMatchObject({ status: 'inactive' });
      expect((await t.api.get(`/api/v1/users/${user.userId}`).expect(404)).body.code).toBe('user_not_found');
      expect((await t.api.get('/api/v1/auth/sessions').set('authorization', user.bearer).expect(401)).body.code).toBe(
        'session_revoked',
      );
    });

    it('erases user, profile, uniqueness items and sessions with mode=hard', async () => {
      const user = await signUp(t, { username: 'erase_me' });
      await as(admin.bearer).delete(`/api/v1/users/${user.userId}?mode=hard`).expect(204);
      // The request removed the account and its email and username; the stream processor the rest.
      expect(await t.getItem(`UNIQUE#EMAIL#${user.email}`, 'UNIQUE')).toBeUndefined();
      expect((await t.queryPartition(`USER#${user.userId}`)).map((i) => i.SK)).toContain('USER#PROFILE');
      await processStream(t);
      const left = (await t.allItems()).filter(
        (i) => String(i.PK) === `USER#${user.userId}` || i.userId === user.userId || String(i.PK).includes(user.email),
      );
      expect(left.filter((i) => !String(i.PK).startsWith('TOKEN#'))).toEqual([]);
      expect((await as(admin.bearer).delete(`/api/v1/users/${user.userId}?mode=hard`).expect(404)).body.code).toBe(
        'user_not_found',
      );
      // the email and username are free again
      await signUp(t, { email: user.email, username: 'erase_me' });
    });

    it('leaves nothing reachable after a crash midway, and the orphan sweep removes the rest', async () => {
      const user = await signUp(t, { username: 'half_gone' });
      // Only the user item is gone (data from before the stream cascade, or a stream that lost the record).
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: { PK: `USER#${user.userId}`, SK: 'USER' } }));
      expect((await t.api.get(`/api/v1/users/${user.userId}`).expect(404)).body.code).toBe('user_not_found');
      const swept = await sweepOrphans(t.db, t.tableName);
      expect(swept.orphanPartitions.sort()).toEqual(
        [`USER#${user.userId}`, `UNIQUE#EMAIL#${user.email}`, 'UNIQUE#USERNAME#half_gone'].sort(),
      );
      // Nothing is left. The verification link was never minted: its mail request was in the user's
      // partition, which the sweep removed, so the stream processor's mint now fails on its condition.
      const left = (await t.allItems()).filter((i) => JSON.stringify(i).includes(user.userId));
      expect(left.map((i) => i.entity)).toEqual([]);
      await signUp(t, { email: user.email, username: 'half_gone' });
    });

    it('answers 400 for an unknown mode', async () => {
      expect(
        (await as(admin.bearer).delete(`/api/v1/users/${admin.userId}?mode=everything`).expect(400)).body.code,
      ).toBe('validation_failed');
    });
  });

  describe('GET /users (listing)', () => {
    it('pages newest first and filters by role and status from indexes', async () => {
      const created: SignedIn[] = [];
      for (let i = 0; i < 5; i++) {
        t.clock.advance(1_000); // the listing is newest first: distinct creation times, not distinct milliseconds
        created.push(await signUp(t));
      }
      const first = await as(admin.bearer).get('/api/v1/users?limit=3').expect(200);
      expect(first.body.items).toHaveLength(3);
      expect(first.body.items.map((u: { id: string }) => u.id)).toEqual(
        created
          .slice(-3)
          .reverse()
          .map((u) => u.userId),
      );
      const second = await as(admin.bearer).get(`/api/v1/users?limit=2&cursor=${first.body.nextCursor}`).expect(200);
      expect(second.body.items.map((u: { id: string }) => u.id)).toEqual([created[1].userId, created[0].userId]);

      const list = async (query: string) =>
        (await as(admin.bearer).get(`/api/v1/users?limit=100&${query}`).expect(200)).body.items as {
          id: string;
          role: string;
          status: string;
        }[];
      const admins = await list('role=admin&status=active');
      expect(admins.map((u) => u.id)).toEqual([admin.userId]);
      const pending = await list('status=pending');
      expect(pending.map((u) => u.id)).toEqual(expect.arrayContaining(created.map((u) => u.userId)));
      expect(pending.filter((u) => u.status !== 'pending')).toEqual([]);
      const moderator = await signUp(t);
      await as(admin.bearer).patch(`/api/v1/users/${moderator.userId}/role`).send({ role: 'moderator' }).expect(200);
      const moderators = await list('role=moderator');
      expect(moderators.map((u) => u.id)).toContain(moderator.userId);
      expect(moderators.filter((u) => u.role !== 'moderator')).toEqual([]);
      expect((await list('role=moderator&status=pending')).map((u) => u.id)).toContain(moderator.userId);
      expect((await list('role=user&status=pending')).map((u) => u.id)).not.toContain(moderator.userId);
      expect(JSON.stringify(first.body)).not.toMatch(/passwordHash|GSI|"PK"/);
    });

    it('refuses bad queries and foreign cursors with 400', async () => {
      const api = as(admin.bearer);
      expect((await api.get('/api/v1/users?limit=10000').expect(400)).body.code).toBe('validation_failed');
      expect((await api.get('/api/v1/users?limit=0').expect(400)).body.code).toBe('validation_failed');
      expect((await api.get('/api/v1/users?role=king').expect(400)).body.code).toBe('validation_failed');
      expect((await api.get('/api/v1/users?cursor=garbage').expect(400)).body.code).toBe('invalid_cursor');
      const page = await api.get('/api/v1/users?limit=1').expect(200);
      const tampered = Buffer.from(page.body.nextCursor as string, 'base64url');
      tampered[tampered.length - 20] ^= 0x01;
      const res = await api.get(`/api/v1/users?limit=1&cursor=${tampered.toString('base64url')}`).expect(400);
      expect(res.body.code).toBe('invalid_cursor');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await api.get(`/api/v1/users?role=admin&cursor=${page.body.nextCursor}`).expect(400)).body.code).toBe(
        'invalid_cursor',
      );
    });

    it(
      `costs the same for a page of 20 once each of the ${INDEX_SHARDS} shards holds a page, and with ${LARGE_DIRECTORY.toLocaleString('en')} users`,
      async () => {
        const costOfPage = async () => {
          const res = await as(admin.bearer).get('/api/v1/users?limit=20').expect(200);
          expect(res.body.items).toHaveLength(20);
          return dynamoCost(res);
        };
        const now = Date.now();
        let n = 0;
        // Users whose ids fall in the given shards, `perShard` in each, older than the tests' own.
        const seed = async (perShard: number, shards: number[]) => {
          const wanted = new Map(shards.map((shard) => [shard, perShard]));
          const items = [];
          while ([...wanted.values()].some((left) => left > 0)) {
            const i = n++;
            const id = `seed${String(now).slice(-8)}${String(i).padStart(9, '0')}`;
            const shard = shardOf(id);
            if (!wanted.get(shard)) continue;
            wanted.set(shard, wanted.get(shard)! - 1);
            const at = new Date(now - 86_400_000 - i * 1000).toISOString();
            items.push({ PutRequest: { Item: toUserItem(seededUser(id, at)) } });
          }
          await batchWriteAll(t.db, t.tableName, items);
          return items.length;
        };
        const all = Array.from({ length: INDEX_SHARDS }, (_, shard) => shard);
        // A page reads up to 20 entries from each shard: once each holds 20, more users change nothing.
        const seeded = await seed(20, all);
        const small = await costOfPage();
        await seed(Math.ceil(Math.max(0, LARGE_DIRECTORY - seeded) / INDEX_SHARDS), all);
        expect((await t.allItems()).filter((i) => i.SK === 'USER').length).toBeGreaterThanOrEqual(LARGE_DIRECTORY);
        const large = await costOfPage();
        expect(large).toEqual(small);
        // The guard's BatchGet, one Query per shard (in parallel), one BatchGet of the page's sign-in items.
        expect(large.calls).toBe(INDEX_SHARDS + 2);
      },
      SEEDING_TIMEOUT_MS,
    );

    it('walks every filter page by page in the order of one partition: no repeat, no gap, users added between pages', async () => {
      const roles = ['user', 'moderator', 'admin'] as const;
      const statuses = ['pending', 'active', 'suspended', 'inactive'] as const;
      const base = Date.parse('2026-03-01T00:00:00.000Z');
      // 48 users in every role and status, some created in the same millisecond (the id orders them).
      const items = Array.from({ length: 48 }, (_, i) => {
        const id = `walk${String(i).padStart(17, '0')}`;
        const at = new Date(base - Math.floor(i / 2) * 1000).toISOString();
        return {
          PutRequest: { Item: toUserItem(seededUser(id, at, { role: roles[i % 3], status: statuses[i % 4] })) },
        };
      });
      await batchWriteAll(t.db, t.tableName, items);
      type Listed = { id: string; role: string; status: string; createdAt: string };
      // Pages of 7 (of 40 where the other tests' seeded users make the listing long).
      const walk = async (query: string, limit: number, between?: () => Promise<void>) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const res = await as(admin.bearer)
            .get(`/api/v1/users?limit=${limit}&${query}${cursor ? `&cursor=${cursor}` : ''}`)
            .expect(200);
          ids.push(...(res.body.items as Listed[]).map((u) => u.id));
          cursor = res.body.nextCursor ?? undefined;
          if (pages++ === 0) await between?.();
        } while (cursor);
        return ids;
      };
      // What one partition per filter gave before the shards: newest first by `<createdAt>#<id>`.
      const users = (await t.allItems()).filter((i) => i.SK === 'USER');
      const expected = (filter: { role?: string; status?: string }) =>
        users
          .filter((u) => (!filter.role || u.role === filter.role) && (!filter.status || u.status === filter.status))
          .map((u) => ({ id: String(u.id), sort: `${String(u.createdAt)}#${String(u.id)}` }))
          .sort((a, b) => (a.sort < b.sort ? 1 : -1))
          .map((u) => u.id);
      const filters = [
        {},
        ...roles.map((role) => ({ role })),
        ...statuses.map((status) => ({ status })),
        ...roles.flatMap((role) => statuses.map((status) => ({ role, status }))),
      ];
      for (const filter of filters) {
        const want = expected(filter);
        expect(await walk(new URLSearchParams(filter).toString(), want.length > 70 ? 40 : 7)).toEqual(want);
      }
      // Added after the first page: an older user shows once, where it sorts; a newer one is before the cursor.
      const before = expected({});
      const older = seededUser('walkolder000000000001', new Date(base - 10 * 1000 - 500).toISOString());
      const newer = seededUser('walknewer000000000001', new Date().toISOString());
      const ids = await walk('', 40, async () => {
        await batchWriteAll(t.db, t.tableName, [
          { PutRequest: { Item: toUserItem(older) } },
          { PutRequest: { Item: toUserItem(newer) } },
        ]);
      });
      expect(ids).toEqual(before.flatMap((id) => (id === 'walk00000000000000020' ? [id, older.id] : [id])));
    });
  });
});
