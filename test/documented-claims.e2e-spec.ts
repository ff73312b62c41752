import { batchWriteAll } from '../src/dynamo/batch.js';
import { ENTITY, Keys } from '../src/dynamo/keys.js';
import { INDEX_SHARDS, shardOf } from '../src/dynamo/sharding.js';
import type { Comment } from '../src/comments/comment.entity.js';
import { pathSegment } from '../src/comments/comment.entity.js';
import type { UserRole, UserStatus, UserWithPassword } from '../src/users/user.entity.js';
import { toUserItem } from '../src/users/users.repository.js';
import { decodeJwt } from './helpers/jwt.js';
import { atScale } from './helpers/scale.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
  verifyEmail,
  SEEDING_TIMEOUT_MS,
} from './helpers/test-app.js';

/** What README.md and docs/data-model.md promise, each checked against the running app. */
/**
 * Users added per shard of each role and status combination (12 x 8 shards) to the 480 of the admin
 * listing's small table: 192 more (`npm run test:scale`: 6, 576 more).
 */
const MORE_USERS_ROUNDS = atScale(2, 6);
/** Comments in the long thread compared with a thread of 30 (`npm run test:scale`: 1,000). */
const LONG_THREAD = atScale(300, 1_000);

describe('documented behaviour (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  let moderator: SignedIn;
  let author: SignedIn;
  let commenter: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
    moderator = await signUpWithRole(t, admin, 'moderator');
    author = await signUp(t);
    commenter = await signUp(t);
    await verifyEmail(t, commenter);
  });
  afterAll(async () => {
    await t.close();
  });

  const newPost = async (body: object = {}, publish = true) => {
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Claimed', content: 'x', ...body })
        .expect(201)
    ).body as { id: string };
    if (publish)
      await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    return post.id;
  };

  describe('the admin user listing costs O(page) for every role and status filter', () => {
    const roles: UserRole[] = ['user', 'moderator', 'admin'];
    const statuses: UserStatus[] = ['pending', 'active', 'suspended', 'inactive'];
    const filters = [
      '',
      ...roles.map((role) => `role=${role}`),
      ...statuses.map((status) => `status=${status}`),
      ...roles.flatMap((role) => statuses.map((status) => `role=${role}&status=${status}`)),
    ];
    let seeded = 0;
    /** `perShard` users of every role and status in each of the index shards (ids picked by their shard). */
    const seed = async (perShard: number) => {
      const base = Date.parse('2026-01-01T00:00:00.000Z');
      const items = roles.flatMap((role) =>
        statuses.flatMap((status) => {
          const left = Array.from({ length: INDEX_SHARDS }, () => perShard);
          const out = [];
          while (left.some((n) => n > 0)) {
            const n = seeded++;
            const id = `lst${String(n).padStart(18, '0')}`;
            if (left[shardOf(id)] === 0) continue;
            left[shardOf(id)]--;
            const at = new Date(base - n * 1000).toISOString();
            const user: UserWithPassword = {
              id,
              email: `${id}@seed.example`,
              username: `lst-${n}`,
              role,
              status,
              emailVerified: status !== 'pending',
              loginCount: 0,
              createdAt: at,
              updatedAt: at,
              version: 1,
              passwordHash: 'x',
            };
            out.push({ PutRequest: { Item: toUserItem(user) } });
          }
          return out;
        }),
      );
      await batchWriteAll(t.db, t.tableName, items);
    };
    const costs = async () => {
      const out: Record<string, unknown> = {};
      for (const filter of filters) {
        const res = await t.api.get(`/api/v1/users?limit=5&${filter}`).set('authorization', admin.bearer).expect(200);
        const items = res.body.items as { role: string; status: string }[];
        expect(items).toHaveLength(5);
        for (const [key, value] of new URLSearchParams(filter))
          for (const item of items) expect(item).toHaveProperty(key, value);
        out[filter || 'none'] = dynamoCost(res);
      }
      return out;
    };

    it(
      "is one Query per shard and one BatchGetItem of the page's sign-in items (plus the guard) per page, whatever the number of users",
      async () => {
        // A page reads up to a page (5) from each shard: once every shard of every filter holds
        // one (480 users), more users change nothing.
        await seed(5);
        const small = await costs();
        await seed(MORE_USERS_ROUNDS);
        const large = await costs();
        expect(large).toEqual(small);
        // The guard's BatchGet, one Query per shard (in parallel), one BatchGet of the page's sign-in items.
        expect(Object.values(large).map((cost) => (cost as { calls: number }).calls)).toEqual(
          filters.map(() => INDEX_SHARDS + 2),
        );
      },
      SEEDING_TIMEOUT_MS,
    );
  });

  describe('a comment thread page costs O(limit)', () => {
    it(
      `is the same for a thread of 30 and of ${LONG_THREAD.toLocaleString('en')} comments`,
      async () => {
        const postId = await newPost();
        let n = 0;
        const seedComments = async (count: number) => {
          const items = Array.from({ length: count }, () => {
            const i = n++;
            const id = `cmt${String(i).padStart(18, '0')}`;
            const createdAt = new Date(Date.parse('2026-02-01T00:00:00.000Z') + i * 1000).toISOString();
            const comment: Comment = {
              id,
              postId,
              path: pathSegment(createdAt, id),
              depth: 1,
              authorId: commenter.userId,
              content: `comment ${i}`,
              status: 'approved',
              deleted: false,
              likeCount: 0,
              createdAt,
              updatedAt: createdAt,
              version: 1,
            };
            return [
              { PutRequest: { Item: { ...Keys.comment(postId, comment.path), entity: ENTITY.Comment, ...comment } } },
              {
                PutRequest: {
                  Item: { ...Keys.commentPointer(postId, id), entity: ENTITY.CommentPointer, path: comment.path },
                },
              },
            ];
          });
          await batchWriteAll(t.db, t.tableName, items.flat());
        };
        const page = async () => {
          const res = await t.api.get(`/api/v1/posts/${postId}/comments?limit=20`).expect(200);
          expect((res.body.items as { content: string }[]).map((c) => c.content)).toEqual(
            Array.from({ length: 20 }, (_, i) => `comment ${i}`),
          );
          const next = await t.api.get(`/api/v1/posts/${postId}/comments?limit=20&cursor=${res.body.nextCursor}`);
          expect(next.status).toBe(200);
          return [dynamoCost(res), dynamoCost(next)];
        };
        await seedComments(30);
        const short = await page();
        await seedComments(LONG_THREAD - 30);
        const long = await page();
        expect(long[0]).toEqual(short[0]);
        expect(long.map((cost) => cost.calls)).toEqual([2, 2]); // the post, one Query
        expect(short[1].calls).toBe(2);
      },
      SEEDING_TIMEOUT_MS,
    );
  });

  describe('comments', () => {
    it('lets moderators and admins delete anyone’s comment, with the count', async () => {
      const postId = await newPost();
      const say = async (content: string) =>
        (
          await t.api
            .post(`/api/v1/posts/${postId}/comments`)
            .set('authorization', commenter.bearer)
            .send({ content })
            .expect(201)
        ).body as { id: string; status: string };
      const first = await say('first');
      const second = await say('second');
      const third = await say('third');
      expect([first.status, second.status, third.status]).toEqual(['approved', 'approved', 'approved']);
      const count = async () => (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.commentCount as number;
      expect(await count()).toBe(3);
      const del = (id: string, as: SignedIn) =>
        t.api.delete(`/api/v1/posts/${postId}/comments/${id}`).set('authorization', as.bearer);
      await del(first.id, moderator).expect(204);
      await del(second.id, admin).expect(204);
      const stranger = await signUp(t);
      expect((await del(third.id, stranger).expect(403)).body.code).toBe('not_comment_author');
      expect(await count()).toBe(1);
      const thread = (await t.api.get(`/api/v1/posts/${postId}/comments`).expect(200)).body.items as { id: string }[];
      expect(thread.map((c) => c.id)).toEqual([third.id]);
    });
  });

  describe('users', () => {
    it('refuses to hard-delete the last active admin with 409 last_admin, and changes nothing', async () => {
      const own = await createTestApp(ADMIN_ENV);
      try {
        const only = await signInAdmin(own);
        const before = await own.getItem(`USER#${only.userId}`, 'USER');
        const res = await own.api
          .delete(`/api/v1/users/${only.userId}?mode=hard`)
          .set('authorization', only.bearer)
          .expect(409);
        expect(res.body.code).toBe('last_admin');
        expect(await own.getItem(`USER#${only.userId}`, 'USER')).toEqual(before);
        expect((await own.getItem('STATS#USERS', 'ACTIVE_ADMINS'))?.activeAdmins).toBe(1);
        await own.api.get('/api/v1/users/me').set('authorization', only.bearer).expect(200);
      } finally {
        await own.close();
      }
    });
  });

  describe('posts', () => {
    it('answers 422 category_not_found when a draft names a category deleted since, until it is changed', async () => {
      const category = (
        await t.api
          .post('/api/v1/categories')
          .set('authorization', admin.bearer)
          .send({ name: 'Short-lived' })
          .expect(201)
      ).body as { id: string };
      const postId = await newPost({ categoryId: category.id }, false);
      await t.api.delete(`/api/v1/categories/${category.id}`).set('authorization', admin.bearer).expect(204);
      const publish = () => t.api.post(`/api/v1/posts/${postId}/publish`).set('authorization', author.bearer).send({});
      const refused = await publish().expect(422);
      expect(refused.body.code).toBe('category_not_found');
      expect(await t.getItem(`POST#${postId}`, 'POST')).toMatchObject({ status: 'draft', categoryId: category.id });
      expect(await t.queryPartition(`CATFEED#${category.id}`)).toEqual([]);
      await t.api
        .patch(`/api/v1/posts/${postId}`)
        .set('authorization', author.bearer)
        .send({ categoryId: null })
        .expect(200);
      expect((await publish().expect(200)).body.status).toBe('published');
    });
  });
});

describe('configuration (e2e)', () => {
  describe('TRUST_PROXY_HOPS', () => {
    const sessionIp = async (t: TestApp, forwardedFor: string) => {
      const user = await signUp(t);
      const login = await t.api
        .post('/api/v1/auth/login')
        .set('x-forwarded-for', forwardedFor)
        .send({ email: user.email, password: user.password })
        .expect(200);
      const sid = decodeJwt(login.body.accessToken).sid as string;
      return (await t.getItem(`USER#${user.userId}`, `SESSION#${sid}`))?.ip;
    };

    it('ignores X-Forwarded-For by default (0: no proxy is trusted)', async () => {
      const t = await createTestApp();
      try {
        expect(t.config.trustProxy).toBe(0);
        expect(await sessionIp(t, '203.0.113.7')).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
      } finally {
        await t.close();
      }
    });

    it('takes the client address from the hop the trusted proxies added', async () => {
      const t = await createTestApp({ TRUST_PROXY_HOPS: '1' });
      try {
        // one trusted proxy: the address it appended, not the one the client claimed before it
        expect(await sessionIp(t, '198.51.100.1, 203.0.113.7')).toBe('203.0.113.7');
      } finally {
        await t.close();
      }
    });

    it('limits logins per client address behind the proxy', async () => {
      const t = await createTestApp({ TRUST_PROXY_HOPS: '1', LOGIN_RATE_MAX_PER_IP: '2' });
      try {
        const attempt = (ip: string) =>
          t.api
            .post('/api/v1/auth/login')
            .set('x-forwarded-for', ip)
            .send({ email: `someone-${ip}@example.com`, password: 'whatever1' });
        await attempt('203.0.113.1').expect(401);
        await attempt('203.0.113.1').expect(401);
        expect((await attempt('203.0.113.1').expect(429)).body.code).toBe('too_many_login_attempts');
        // another client behind the same proxy has its own count
        expect((await attempt('203.0.113.2').expect(401)).body.code).toBe('invalid_credentials');
      } finally {
        await t.close();
      }
    });
  });

  describe('COMMENT_AUTO_APPROVE and COMMENT_MAX_DEPTH', () => {
    const setUp = async (env: Record<string, string>) => {
      const t = await createTestApp({ ...ADMIN_ENV, ...env });
      const admin = await signInAdmin(t);
      const writer = await signUp(t);
      const postId = (
        await t.api
          .post('/api/v1/posts')
          .set('authorization', writer.bearer)
          .send({ title: 'Configured', content: 'x' })
          .expect(201)
      ).body.id as string;
      await t.api.post(`/api/v1/posts/${postId}/publish`).set('authorization', writer.bearer).send({}).expect(200);
      const say = async (as: SignedIn, content: string, parentId?: string) =>
        (
          await t.api
            .post(`/api/v1/posts/${postId}/comments`)
            .set('authorization', as.bearer)
            .send({ content, parentId })
            .expect(201)
        ).body as { id: string; status: string; depth: number; parentId?: string };
      return { t, admin, writer, say };
    };

    it('all: approves an unverified user at once', async () => {
      const { t, say } = await setUp({ COMMENT_AUTO_APPROVE: 'all' });
      try {
        const unverified = await signUp(t);
        expect((await say(unverified, 'hello')).status).toBe('approved');
      } finally {
        await t.close();
      }
    });

    it('staff: holds even a verified user for moderation, approves moderators', async () => {
      const { t, admin, say } = await setUp({ COMMENT_AUTO_APPROVE: 'staff' });
      try {
        const verified = await signUp(t);
        await verifyEmail(t, verified);
        const mod = await signUpWithRole(t, admin, 'moderator');
        expect((await say(verified, 'hello')).status).toBe('pending');
        expect((await say(mod, 'hello')).status).toBe('approved');
        expect((await say(admin, 'hello')).status).toBe('approved');
      } finally {
        await t.close();
      }
    });

    it('verified (the default): approves verified users, holds unverified ones', async () => {
      const { t, say } = await setUp({});
      try {
        expect(t.config.comments.autoApprove).toBe('verified');
        const verified = await signUp(t);
        await verifyEmail(t, verified);
        const unverified = await signUp(t);
        expect((await say(verified, 'hello')).status).toBe('approved');
        expect((await say(unverified, 'hello')).status).toBe('pending');
      } finally {
        await t.close();
      }
    });

    it('COMMENT_MAX_DEPTH=2: a reply to a second-level comment becomes its sibling', async () => {
      const { t, admin, say } = await setUp({ COMMENT_MAX_DEPTH: '2' });
      try {
        const top = await say(admin, 'top');
        const second = await say(admin, 'second', top.id);
        const third = await say(admin, 'third', second.id);
        expect(second).toMatchObject({ depth: 2, parentId: top.id });
        expect(third).toMatchObject({ depth: 2, parentId: top.id });
      } finally {
        await t.close();
      }
    });

    it('COMMENT_MAX_DEPTH=1: every reply is a top-level comment', async () => {
      const { t, admin, say } = await setUp({ COMMENT_MAX_DEPTH: '1' });
      try {
        const top = await say(admin, 'top');
        const reply = await say(admin, 'reply', top.id);
        expect(reply.depth).toBe(1);
        expect(reply.parentId).toBeUndefined();
      } finally {
        await t.close();
      }
    });
  });
});
