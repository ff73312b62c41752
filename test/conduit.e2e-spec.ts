import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nanoid } from 'nanoid';
import { checkCounts } from '../src/admin-tools/count-check.js';
import { CONDUIT_MAX_OFFSET } from '../src/conduit/dto/conduit.dto.js';
import { createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { Keys } from '../src/dynamo/keys.js';
import { processStream } from './helpers/stream.js';
import { batchWriteAll } from '../src/dynamo/batch.js';
import type { PostSummary } from '../src/posts/post.entity.js';
import { toPostSummaryItem } from '../src/posts/posts.repository.js';
import { createTestApp, dynamoCost, SEEDING_TIMEOUT_MS, setUserAttributes, type TestApp } from './helpers/test-app.js';

/**
 * The Conduit (RealWorld) API under /api (docs/conduit.md). Every response of `t.api` is checked
 * against the app's OpenAPI document, whose Conduit schemas are the RealWorld shapes; the tests
 * below pin the values, statuses and `{"errors": {...}, "code": "..."}` bodies.
 */
interface ConduitUser {
  email: string;
  token: string;
  username: string;
  bio: string | null;
  image: string | null;
}
interface Article {
  slug: string;
  title: string;
  description: string;
  body: string;
  tagList: string[];
  favorited: boolean;
  favoritesCount: number;
  author: { username: string; following: boolean; bio: string | null; image: string | null };
}

describe('Conduit API (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const token = (user: ConduitUser) => `Token ${user.token}`;

  /** On `app`, the suite's own by default (another for a test that starts one with other settings). */
  async function register(
    name = `u${nanoid(8)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`,
    app: TestApp = t,
  ): Promise<ConduitUser> {
    const res = await app.api
      .post('/api/users')
      .send({ user: { username: name, email: `${name}@example.com`, password: 'password-1234' } })
      .expect(201);
    return (res.body as { user: ConduitUser }).user;
  }

  async function createArticle(author: ConduitUser, article: Record<string, unknown>, app = t): Promise<Article> {
    const res = await app.api.post('/api/articles').set('authorization', token(author)).send({ article }).expect(201);
    return (res.body as { article: Article }).article;
  }

  /** A list walked by offset, `limit` a page, from 0 until the offset reaches its articlesCount. */
  async function walk(path: string, limit: number, authorization?: string): Promise<string[]> {
    const slugs: string[] = [];
    for (let offset = 0, count = 1; offset < count; offset += limit) {
      const request = t.api.get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}&offset=${offset}`);
      const page = await (authorization ? request.set('authorization', authorization) : request).expect(200);
      const body = page.body as { articles: Article[]; articlesCount: number };
      slugs.push(...body.articles.map((a) => a.slug));
      count = body.articlesCount;
    }
    return slugs;
  }

  describe('users and profiles', () => {
    it('registers, signs in and reads the current user with a Token (and a Bearer) token', async () => {
      const user = await register();
      expect(user).toEqual({
        email: user.email,
        token: expect.any(String),
        username: user.username,
        bio: null,
        image: null,
      });

      const login = await t.api
        .post('/api/users/login')
        .send({ user: { email: user.email, password: 'password-1234' } })
        .expect(200);
      const signedIn = (login.body as { user: ConduitUser }).user;
      expect(signedIn.username).toBe(user.username);

      const viaToken = await t.api.get('/api/user').set('authorization', `Token ${signedIn.token}`).expect(200);
      expect(viaToken.body).toEqual({ user: { ...signedIn } });
      await t.api.get('/api/user').set('authorization', `Bearer ${signedIn.token}`).expect(200);
    });

    it('issues a token that lives as long as its session, and dies with it', async () => {
      const user = await register();
      const [, payload] = user.token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp: number; iat: number };
      // Far longer than the native 15-minute access token: the session's lifetime.
      expect(claims.exp - claims.iat).toBeGreaterThan(t.config.auth.accessTokenTtlSeconds);
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(
        Math.min(t.config.auth.refreshTokenTtlSeconds, t.config.auth.sessionMaxAgeSeconds),
      );
      // Revoked like any session: signing out everywhere ends it.
      await t.api.post('/api/v1/auth/logout-all').set('authorization', `Bearer ${user.token}`).expect(204);
      const res = await t.api.get('/api/user').set('authorization', token(user)).expect(401);
      expect(res.body).toEqual({ errors: { body: [expect.any(String)] }, code: 'session_revoked' });
    });

    it('answers 401 without a token, with a malformed one, and with a wrong one', async () => {
      // RealWorld's envelope, with the native API's stable code beside it.
      expect((await t.api.get('/api/user').expect(401)).body).toEqual({
        errors: { body: [expect.any(String)] },
        code: 'missing_token',
      });
      await t.api.get('/api/user').set('authorization', 'Basic abc').expect(401);
      await t.api.get('/api/user').set('authorization', 'Token not-a-jwt').expect(401);
    });

    it("answers the body parser's errors (malformed JSON 400, too large 413, not JSON 415) in the RealWorld envelope; /api/v1 keeps problem+json (review 22a note)", async () => {
      const user = await register();
      const envelope = (code: string) => ({ errors: { body: [expect.any(String)] }, code });
      const cases: [string, () => Promise<{ status: number; headers: Record<string, string>; body: unknown }>][] = [
        ['400', () => t.api.post('/api/users/login').set('content-type', 'application/json').send('{"user":')],
        [
          '413',
          () =>
            t.api
              .put('/api/user')
              .set('authorization', token(user))
              .send({ user: { bio: 'x'.repeat(300 * 1024) } }),
        ],
        ['415', () => t.api.post('/api/users').set('content-type', 'text/plain').send('user=x')],
      ];
      const codes = { '400': 'malformed_json', '413': 'payload_too_large', '415': 'unsupported_media_type' };
      for (const [status, send] of cases) {
        const res = await send();
        expect({ status: res.status, type: res.headers['content-type'], body: res.body }).toEqual({
          status: Number(status),
          type: expect.stringMatching(/^application\/json/),
          body: envelope(codes[status as keyof typeof codes]),
        });
      }
      // Express routes case-insensitively: so does the envelope.
      const upper = await t.http.post('/API/users/login').set('content-type', 'application/json').send('{"user":');
      expect({ status: upper.status, body: upper.body }).toEqual({ status: 400, body: envelope('malformed_json') });
      // The bio was not written.
      const me = await t.api.get('/api/user').set('authorization', token(user)).expect(200);
      expect((me.body as { user: ConduitUser }).user.bio).toBeNull();
      // The native API keeps problem+json for the same body.
      const native = await t.api.post('/api/v1/auth/login').set('content-type', 'application/json').send('{"user":');
      expect({
        status: native.status,
        type: native.headers['content-type'],
        code: JSON.parse(native.text).code,
      }).toEqual({
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
        code: 'malformed_json',
      });
    });

    it('answers 422 with {errors: {field: [...]}} for invalid or taken registrations', async () => {
      const bad = await t.api
        .post('/api/users')
        .send({ user: { username: 'x', email: 'not-an-email', password: 'short' } })
        .expect(422);
      const errors = (bad.body as { errors: Record<string, string[]> }).errors;
      expect(Object.keys(errors).sort()).toEqual(['email', 'password', 'username']);
      expect(errors.email[0]).toEqual(expect.any(String));

      const noUsername = await t.api
        .post('/api/users')
        .send({ user: { email: 'no-username@example.com', password: 'password-1234' } })
        .expect(422);
      expect(noUsername.body).toEqual({ errors: { username: ["can't be blank"] }, code: 'validation_failed' });
      expect((await t.api.post('/api/users').send({}).expect(422)).body).toEqual({
        errors: { user: expect.any(Array) },
        code: 'validation_failed',
      });
      const taken = await register();
      const again = await t.api
        .post('/api/users')
        .send({ user: { username: taken.username, email: `other-${taken.email}`, password: 'password-1234' } })
        .expect(422);
      expect(again.body).toEqual({ errors: { username: ['has already been taken'] }, code: 'username_taken' });
    });

    it('updates username, bio and image; an unchanged email is a no-op, a new email or a password is 422', async () => {
      const user = await register();
      const res = await t.api
        .put('/api/user')
        .set('authorization', token(user))
        .send({
          user: { email: user.email, bio: 'I like dragons', image: 'https://example.com/me.png', token: user.token },
        })
        .expect(200);
      expect(res.body).toEqual({
        user: { ...user, bio: 'I like dragons', image: 'https://example.com/me.png' },
      });
      const renamed = `${user.username}-2`;
      expect(
        (
          await t.api
            .put('/api/user')
            .set('authorization', token(user))
            .send({ user: { username: renamed } })
            .expect(200)
        ).body,
      ).toMatchObject({ user: { username: renamed } });

      const email = await t.api
        .put('/api/user')
        .set('authorization', token(user))
        .send({ user: { email: `new-${user.email}` } })
        .expect(422);
      expect((email.body as { errors: Record<string, string[]> }).errors.email[0]).toContain('/api/v1/users/me/email');
      const password = await t.api
        .put('/api/user')
        .set('authorization', token(user))
        .send({ user: { password: 'another-password' } })
        .expect(422);
      expect((password.body as { errors: Record<string, string[]> }).errors.password[0]).toContain(
        '/api/v1/auth/password',
      );
    });

    it('shows profiles and follows / unfollows by username', async () => {
      const [reader, celeb] = await Promise.all([register(), register()]);
      const anonymous = await t.api.get(`/api/profiles/${celeb.username}`).expect(200);
      expect(anonymous.body).toEqual({
        profile: { username: celeb.username, bio: null, image: null, following: false },
      });

      const followed = await t.api
        .post(`/api/profiles/${celeb.username}/follow`)
        .set('authorization', token(reader))
        .expect(200);
      expect(followed.body).toMatchObject({ profile: { username: celeb.username, following: true } });
      const seen = await t.api.get(`/api/profiles/${celeb.username}`).set('authorization', token(reader)).expect(200);
      expect(seen.body).toMatchObject({ profile: { following: true } });
      const unfollowed = await t.api
        .delete(`/api/profiles/${celeb.username}/follow`)
        .set('authorization', token(reader))
        .expect(200);
      expect(unfollowed.body).toMatchObject({ profile: { following: false } });

      await t.api.get('/api/profiles/nobody-here').expect(404);
      await t.api.post('/api/profiles/nobody-here/follow').set('authorization', token(reader)).expect(404);
      await t.api.post(`/api/profiles/${reader.username}/follow`).set('authorization', token(reader)).expect(422);
      await t.api.post(`/api/profiles/${celeb.username}/follow`).expect(401);
    });

    it('unfollows a deactivated account, as the native API does, answering its username only; following it is 404', async () => {
      const [reader, gone] = await Promise.all([register(), register()]);
      await t.api
        .put('/api/user')
        .set('authorization', token(gone))
        .send({ user: { bio: 'Was here' } })
        .expect(200);
      const follow = `/api/profiles/${gone.username}/follow`;
      await t.api.post(follow).set('authorization', token(reader)).expect(200);
      const idOf = async (user: ConduitUser) =>
        (await t.queryPartition(`UNIQUE#USERNAME#${user.username}`))[0].userId as string;
      const [readerId, goneId] = await Promise.all([idOf(reader), idOf(gone)]);
      const following = async () =>
        ((await t.api.get(`/api/v1/users/${readerId}`).expect(200)).body as { followingCount: number }).followingCount;

      await setUserAttributes(t, goneId, { status: 'inactive' });
      // Hidden, and not to be followed (as natively), yet still in the reader's count: their edge stays.
      await t.api.get(`/api/profiles/${gone.username}`).expect(404);
      expect((await t.api.post(follow).set('authorization', token(reader)).expect(404)).body).toMatchObject({
        code: 'user_not_found',
      });
      expect(await following()).toBe(1);
      // The unfollow is how the reader drops it: done, and answered without the hidden bio (was a 404 after the write).
      const unfollowed = await t.api.delete(follow).set('authorization', token(reader)).expect(200);
      expect(unfollowed.body).toEqual({
        profile: { username: gone.username, bio: null, image: null, following: false },
      });
      expect(await t.getItem(Keys.follow(readerId, goneId).PK, Keys.follow(readerId, goneId).SK)).toBeUndefined();
      expect(await following()).toBe(0);
      // Idempotent; an unknown username is still 404.
      await t.api.delete(follow).set('authorization', token(reader)).expect(200);
      await t.api.delete('/api/profiles/nobody-here/follow').set('authorization', token(reader)).expect(404);
    });
  });

  describe('articles, favorites, comments and tags', () => {
    it('creates a published article with new tags, reads, lists, updates and deletes it', async () => {
      const author = await register();
      const tagA = `dragons-${nanoid(5)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      const tagB = `training-${nanoid(5)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
      const article = await createArticle(author, {
        title: 'How to train your dragon',
        description: 'Ever wonder how?',
        body: 'Very carefully.',
        tagList: [tagB, tagA],
      });
      expect(article).toMatchObject({
        title: 'How to train your dragon',
        description: 'Ever wonder how?',
        body: 'Very carefully.',
        tagList: [tagA, tagB],
        favorited: false,
        favoritesCount: 0,
        author: { username: author.username, following: false },
      });

      // Published on creation: anyone reads it, the tag list finds it, the tags exist.
      expect((await t.api.get(`/api/articles/${article.slug}`).expect(200)).body).toEqual({ article });
      const byTag = await t.api.get(`/api/articles?tag=${tagA}`).expect(200);
      expect(byTag.body).toEqual({ articles: [article], articlesCount: 1 });
      const byAuthor = await t.api.get(`/api/articles?author=${author.username}`).expect(200);
      expect((byAuthor.body as { articles: Article[] }).articles.map((a) => a.slug)).toEqual([article.slug]);
      expect((await t.api.get('/api/tags').expect(200)).body).toMatchObject({
        tags: expect.arrayContaining([tagA, tagB]),
      });

      const updated = await t.api
        .put(`/api/articles/${article.slug}`)
        .set('authorization', token(author))
        .send({ article: { body: 'With two hands' } })
        .expect(200);
      expect(updated.body).toMatchObject({
        article: { slug: article.slug, body: 'With two hands', tagList: [tagA, tagB] },
      });

      const other = await register();
      const notTheirs = await t.api
        .put(`/api/articles/${article.slug}`)
        .set('authorization', token(other))
        .send({ article: { body: 'mine now' } })
        .expect(403);
      expect(notTheirs.body).toEqual({ errors: { body: [expect.any(String)] }, code: 'not_post_author' });
      await t.api.delete(`/api/articles/${article.slug}`).set('authorization', token(other)).expect(403);
      await t.api.delete(`/api/articles/${article.slug}`).set('authorization', token(author)).expect(200);
      expect((await t.api.get(`/api/articles/${article.slug}`).expect(404)).body).toEqual({
        errors: { body: [expect.any(String)] },
        code: 'post_not_found',
      });
    });

    it('answers 422 with field errors for an invalid article, and 401 without a token', async () => {
      const author = await register();
      const res = await t.api
        .post('/api/articles')
        .set('authorization', token(author))
        .send({ article: { title: '', body: 'x' } })
        .expect(422);
      expect(Object.keys((res.body as { errors: Record<string, string[]> }).errors).sort()).toEqual([
        'description',
        'title',
      ]);
      await t.api
        .post('/api/articles')
        .send({ article: { title: 't', description: 'd', body: 'b' } })
        .expect(401);
    });

    it('takes tagList names by the native tag rules, and a refused update creates none (review 19a, M3)', async () => {
      const [author, other] = await Promise.all([register(), register()]);
      const suffix = nanoid(5)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x');
      // Bidi overrides and zero-width characters are refused as on POST /api/v1/tags (422 on the field).
      for (const name of [`x\u202egnp-${suffix}.exe`, `zero\u200bwidth-${suffix}`, '\u2800']) {
        const res = await t.api
          .post('/api/articles')
          .set('authorization', token(author))
          .send({ article: { title: 'Tagged', description: 'd', body: 'b', tagList: [name] } })
          .expect(422);
        expect(Object.keys((res.body as { errors: Record<string, string[]> }).errors)).toEqual(['tagList']);
      }
      await t.api.get(`/api/v1/tags/by-slug/xgnp-${suffix}-exe`).expect(404);
      await t.api.get(`/api/v1/tags/by-slug/zerowidth-${suffix}`).expect(404);
      // Fullwidth letters are NFKC-normalised, and the name trimmed, before the tag is found or made.
      const article = await createArticle(author, {
        title: 'Tagged',
        description: 'd',
        body: 'b',
        tagList: [`  ＡＢＣ${suffix}  `],
      });
      expect(article.tagList).toEqual([`ABC${suffix}`]);
      expect((await t.api.get(`/api/v1/tags/by-slug/abc${suffix}`).expect(200)).body).toMatchObject({
        name: `ABC${suffix}`,
      });
      // Someone else's article: 403 before the new name becomes a tag.
      await t.api
        .put(`/api/articles/${article.slug}`)
        .set('authorization', token(other))
        .send({ article: { tagList: [`stolen-${suffix}`] } })
        .expect(403);
      await t.api.get(`/api/v1/tags/by-slug/stolen-${suffix}`).expect(404);
    });

    it('favorites and unfavorites, and lists what a user favorited', async () => {
      const [author, fan] = await Promise.all([register(), register()]);
      const article = await createArticle(author, { title: 'Fav me', description: 'd', body: 'b' });
      const fav = await t.api
        .post(`/api/articles/${article.slug}/favorite`)
        .set('authorization', token(fan))
        .expect(200);
      expect(fav.body).toMatchObject({ article: { favorited: true, favoritesCount: 1 } });
      // A post's likeCount (favoritesCount) is exact once the stream folded its like shards.
      await t.mailSent();
      const listed = await t.api
        .get(`/api/articles?favorited=${fan.username}`)
        .set('authorization', token(fan))
        .expect(200);
      expect(listed.body).toMatchObject({ articles: [{ slug: article.slug, favorited: true, favoritesCount: 1 }] });
      const unfav = await t.api
        .delete(`/api/articles/${article.slug}/favorite`)
        .set('authorization', token(fan))
        .expect(200);
      expect(unfav.body).toMatchObject({ article: { favorited: false, favoritesCount: 0 } });
      await t.api.post('/api/articles/no-such-article/favorite').set('authorization', token(fan)).expect(404);
    });

    it('lists no posts or likes of a deactivated account, whose profile is 404 (review 19a, L2)', async () => {
      const [author, fan] = await Promise.all([register(), register()]);
      const article = await createArticle(author, { title: 'Liked then gone', description: 'd', body: 'b' });
      await t.api.post(`/api/articles/${article.slug}/favorite`).set('authorization', token(fan)).expect(200);
      const slugsOf = async (query: string) => {
        const res = await t.api.get(`/api/articles?${query}`).expect(200);
        const body = res.body as { articles: Article[]; articlesCount: number };
        return { slugs: body.articles.map((a) => a.slug), count: body.articlesCount };
      };
      expect(await slugsOf(`favorited=${fan.username}`)).toEqual({ slugs: [article.slug], count: 1 });
      expect(await slugsOf(`author=${author.username}`)).toEqual({ slugs: [article.slug], count: 1 });
      const idOf = async (user: ConduitUser) =>
        (await t.queryPartition(`UNIQUE#USERNAME#${user.username}`))[0].userId as string;

      // The fan deactivated: no profile, and no list of likes (the author's list is untouched).
      await setUserAttributes(t, await idOf(fan), { status: 'inactive' });
      await t.api.get(`/api/profiles/${fan.username}`).expect(404);
      expect(await slugsOf(`favorited=${fan.username}`)).toEqual({ slugs: [], count: 0 });
      expect(await slugsOf(`author=${author.username}`)).toEqual({ slugs: [article.slug], count: 1 });
      // The author deactivated: the same for the author's articles. A suspended account stays listed.
      await setUserAttributes(t, await idOf(author), { status: 'suspended' });
      expect(await slugsOf(`author=${author.username}`)).toEqual({ slugs: [article.slug], count: 1 });
      await setUserAttributes(t, await idOf(author), { status: 'inactive' });
      await t.api.get(`/api/profiles/${author.username}`).expect(404);
      expect(await slugsOf(`author=${author.username}`)).toEqual({ slugs: [], count: 0 });
    });

    it('says Vary: Authorization on the routes whose answer depends on a token, errors included (review 19a, Notes)', async () => {
      const author = await register();
      const article = await createArticle(author, { title: 'Cached how', description: 'd', body: 'b' });
      const varies = (res: { headers: Record<string, string | string[] | undefined> }) =>
        String(res.headers.vary ?? '')
          .split(',')
          .map((name) => name.trim().toLowerCase());
      const personal = [
        '/api/articles',
        `/api/articles?author=${author.username}`,
        `/api/articles/${article.slug}`,
        `/api/articles/${article.slug}/comments`,
        `/api/profiles/${author.username}`,
      ];
      for (const path of personal) {
        expect(varies(await t.api.get(path).expect(200))).toContain('authorization');
        expect(varies(await t.api.get(path).set('authorization', token(author)).expect(200))).toContain(
          'authorization',
        );
      }
      expect(varies(await t.api.get('/api/articles/no-such-article').expect(404))).toContain('authorization');
      expect(varies(await t.api.get('/api/articles?limit=0').expect(422))).toContain('authorization');
      // Routes that read no token do not vary by it.
      expect(varies(await t.api.get('/api/tags').expect(200))).not.toContain('authorization');
    });

    it("adds comments by the native moderation policy (an unverified account's waits: review 19a, M1), lists and deletes them", async () => {
      const [author, commenter, stranger] = await Promise.all([register(), register(), register()]);
      const article = await createArticle(author, { title: 'Comment me', description: 'd', body: 'b' });
      const created = await t.api
        .post(`/api/articles/${article.slug}/comments`)
        .set('authorization', token(commenter))
        .send({ comment: { body: 'Thank you so much!' } })
        .expect(200);
      const comment = (created.body as { comment: { id: string } }).comment;
      expect(created.body).toMatchObject({
        comment: { body: 'Thank you so much!', author: { username: commenter.username } },
      });

      // The commenter's email is not verified: pending (COMMENT_AUTO_APPROVE=verified), so listed to
      // its author only, as natively.
      expect((await t.api.get(`/api/articles/${article.slug}/comments`).expect(200)).body).toEqual({ comments: [] });
      const others = await t.api.get(`/api/articles/${article.slug}/comments`).set('authorization', token(stranger));
      expect(others.body).toEqual({ comments: [] });
      const own = await t.api.get(`/api/articles/${article.slug}/comments`).set('authorization', token(commenter));
      expect(own.body).toEqual({ comments: [created.body.comment] });
      const native = await t.api.get(`/api/v1/posts/by-slug/${article.slug}`).expect(200);
      expect((native.body as { commentCount: number }).commentCount).toBe(0);

      await t.api
        .delete(`/api/articles/${article.slug}/comments/${comment.id}`)
        .set('authorization', token(stranger))
        .expect(404); // a pending comment is not there for others (403 for an approved one)
      await t.api
        .delete(`/api/articles/${article.slug}/comments/${comment.id}`)
        .set('authorization', token(commenter))
        .expect(200);
      expect((await t.api.get(`/api/articles/${article.slug}/comments`).expect(200)).body).toEqual({ comments: [] });
      await t.api
        .post(`/api/articles/${article.slug}/comments`)
        .set('authorization', token(commenter))
        .send({ comment: {} })
        .expect(422);
    });

    it('pages by limit and offset, bounds the offset, and serves the feed of followed authors', async () => {
      const [author, reader] = await Promise.all([register(), register()]);
      const slugs: string[] = [];
      for (let i = 0; i < 5; i++) {
        slugs.unshift((await createArticle(author, { title: `Paged ${i}`, description: 'd', body: 'b' })).slug);
      }
      const page = await t.api.get(`/api/articles?author=${author.username}&limit=2&offset=1`).expect(200);
      expect((page.body as { articles: Article[] }).articles.map((a) => a.slug)).toEqual(slugs.slice(1, 3));
      const tooDeep = await t.api.get(`/api/articles?offset=${CONDUIT_MAX_OFFSET + 1}`).expect(422);
      expect((tooDeep.body as { errors: Record<string, string[]> }).errors.offset).toEqual([expect.any(String)]);
      await t.api.get('/api/articles?limit=0').expect(422);
      await t.api.get(`/api/articles?tag=x&author=${author.username}`).expect(422);
      expect((await t.api.get('/api/articles?author=nobody-here').expect(200)).body).toEqual({
        articles: [],
        articlesCount: 0,
      });

      await t.api.post(`/api/profiles/${author.username}/follow`).set('authorization', token(reader)).expect(200);
      const feed = await t.api.get('/api/articles/feed').set('authorization', token(reader)).expect(200);
      expect(feed.body).toMatchObject({ articles: expect.any(Array), articlesCount: expect.any(Number) });
      await t.api.get('/api/articles/feed').expect(401);
    });
  });

  describe('articlesCount from counters', () => {
    const count = async (query: string) =>
      ((await t.api.get(`/api/articles?limit=1&${query}`).expect(200)).body as { articlesCount: number }).articlesCount;
    /**
     * The truth: every article the list pages through by offset, 100 a page, until the offset
     * reaches the list's articlesCount (a short page in the middle does not end the walk; entries
     * filtered on read make pages short); an article listed twice fails.
     */
    async function listed(query: string): Promise<string[]> {
      const slugs = await walk(`/api/articles?${query}`, 100);
      expect(slugs.length).toBe(new Set(slugs).size);
      return slugs;
    }

    it('stays exact for all articles, an author, a tag and a favoriter under concurrent publishes, withdrawals, deletes and favorites', async () => {
      const authors = await Promise.all([register(), register(), register(), register()]);
      const [fan, otherFan] = await Promise.all([register(), register()]);
      const tag = `counted-${nanoid(6).toLowerCase()}`;
      const allBefore = await count('');

      // 20 concurrent publications, 5 by each author, all with one new tag.
      const articles = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          createArticle(authors[i % 4], { title: `Counted ${i}`, description: 'd', body: 'b', tagList: [tag] }),
        ),
      );
      expect(await count('')).toBe(allBefore + 20);
      expect(await count(`author=${authors[0].username}`)).toBe(5);
      expect(await count(`tag=${tag}`)).toBe(20);

      // At once: two fans favorite all 20 (twice each: repeats count once) while the first
      // author deletes 2 of theirs; then, at once, the second author unpublishes 2 (natively)
      // and the fan takes back 3 favorites.
      const byAuthor = (a: number) => articles.filter((_, i) => i % 4 === a);
      const favorite = (user: ConduitUser, article: Article, on = true) =>
        t.api[on ? 'post' : 'delete'](`/api/articles/${article.slug}/favorite`).set('authorization', token(user));
      const unpublish = async (article: Article) => {
        const post = await t.api.get(`/api/v1/posts/by-slug/${article.slug}`).expect(200);
        await t.api
          .post(`/api/v1/posts/${(post.body as { id: string }).id}/unpublish`)
          .set('authorization', `Bearer ${authors[1].token}`)
          .expect(200);
      };
      const settled = await Promise.allSettled([
        ...[fan, otherFan, fan, otherFan].flatMap((user) => articles.map((article) => favorite(user, article))),
        ...byAuthor(0)
          .slice(0, 2)
          .map((article) =>
            t.api.delete(`/api/articles/${article.slug}`).set('authorization', token(authors[0])).expect(200),
          ),
      ]);
      expect(settled.filter((result) => result.status === 'rejected')).toEqual([]);
      // A favorite racing a deletion is a 404 or a like the deletion's cascade removes.
      for (const result of settled.slice(0, 80)) {
        expect([200, 404]).toContain((result as PromiseFulfilledResult<{ status: number }>).value.status);
      }
      await Promise.all([
        ...byAuthor(1).slice(0, 2).map(unpublish),
        ...articles.slice(10, 13).map((article) => favorite(fan, article, false).expect(200)),
      ]);
      await processStream(t); // the deleted posts' likes go, with the fans' counts

      const withdrawn = [...byAuthor(0).slice(0, 2), ...byAuthor(1).slice(0, 2)];
      const live = articles.filter((a) => !withdrawn.includes(a));
      expect(await count('')).toBe(allBefore + 16);
      expect(await count('')).toBe((await listed('')).length);
      expect(await count(`tag=${tag}`)).toBe(16);
      expect((await listed(`tag=${tag}`)).sort()).toEqual(live.map((a) => a.slug).sort());
      expect(await count(`author=${authors[0].username}`)).toBe(3);
      expect(await count(`author=${authors[1].username}`)).toBe(3);
      expect(await count(`author=${authors[2].username}`)).toBe(5);
      // Favorites: the likes of posts out. The 2 unpublished posts keep their likes, hidden and not
      // counted until they return (docs/conduit.md); the deleted ones lost theirs.
      expect(await count(`favorited=${otherFan.username}`)).toBe(16);
      expect(await count(`favorited=${fan.username}`)).toBe(13);
      expect((await listed(`favorited=${otherFan.username}`)).length).toBe(16);
      expect((await listed(`favorited=${fan.username}`)).length).toBe(13);

      const client = createDynamoClient(t.config.dynamo);
      try {
        const { drift } = await checkCounts({ client, tableName: t.tableName });
        expect(drift).toEqual([]);
      } finally {
        client.destroy();
      }
    });

    it('?favorited= counts the likes of posts out: withdrawals, republications and a schedule move them, and every walk lists exactly articlesCount', async () => {
      const [author, fan] = await Promise.all([register(), register()]);
      const articles: Article[] = [];
      for (let i = 0; i < 6; i++) {
        articles.push(await createArticle(author, { title: `Favorited ${i}`, description: 'd', body: 'b' }));
      }
      const ids: string[] = [];
      for (const article of articles) {
        await t.api.post(`/api/articles/${article.slug}/favorite`).set('authorization', token(fan)).expect(200);
        ids.push(((await t.api.get(`/api/v1/posts/by-slug/${article.slug}`).expect(200)).body as { id: string }).id);
      }
      const move = (i: number, action: string, body: Record<string, unknown> = {}) =>
        t.api
          .post(`/api/v1/posts/${ids[i]}/${action}`)
          .set('authorization', `Bearer ${author.token}`)
          .send(body)
          .expect(200);
      const favorited = `favorited=${fan.username}`;
      /** After the stream processor ran: the count, the Conduit walks and the native list agree. */
      const expectListed = async (shown: number[]) => {
        await processStream(t);
        const slugs = shown.map((i) => articles[i].slug);
        expect(await count(favorited)).toBe(shown.length);
        const whole = await listed(favorited);
        expect([...whole].sort()).toEqual([...slugs].sort());
        for (const limit of [1, 2]) expect(await walk(`/api/articles?${favorited}`, limit)).toEqual(whole);
        const native = await t.api.get('/api/v1/users/me/likes?limit=100').set('authorization', `Bearer ${fan.token}`);
        expect((native.body as { items: { slug: string }[] }).items.map((post) => post.slug)).toEqual(whole);
      };

      await expectListed([0, 1, 2, 3, 4, 5]);
      await move(0, 'unpublish');
      await move(1, 'archive');
      await expectListed([2, 3, 4, 5]);
      await move(0, 'publish');
      await expectListed([0, 2, 3, 4, 5]);
      // Scheduled a minute ahead: placed at its time, so it is neither listed nor counted until
      // then, and then both, with no write in between.
      const at = new Date(t.clock.now().getTime() + 60_000).toISOString();
      await move(1, 'publish', { publishAt: at });
      await expectListed([0, 2, 3, 4, 5]);
      try {
        t.clock.advance(61_000);
        await expectListed([0, 1, 2, 3, 4, 5]);
      } finally {
        t.clock.reset();
      }
      // An unfavorite of a withdrawn post's hidden like takes no count.
      await move(2, 'unpublish');
      await processStream(t);
      await t.api.delete(`/api/articles/${articles[2].slug}/favorite`).set('authorization', token(fan)).expect(404);
      await t.api.delete(`/api/v1/posts/${ids[2]}/like`).set('authorization', `Bearer ${fan.token}`).expect(404);
      await move(2, 'publish');
      await t.api.delete(`/api/articles/${articles[2].slug}/favorite`).set('authorization', token(fan)).expect(200);
      await expectListed([0, 3, 4, 5]);

      const client = createDynamoClient(t.config.dynamo);
      try {
        expect((await checkCounts({ client, tableName: t.tableName })).drift).toEqual([]);
      } finally {
        client.destroy();
      }
    });

    it('reads each count with one call beside the page, never by counting the list', async () => {
      const author = await register();
      await createArticle(author, { title: 'Counted once', description: 'd', body: 'b' });
      // A page of one untagged article read anonymously: the count, the listing's Query and its
      // counter items' BatchGetItem, the content's and the author profile's BatchGetItems.
      const all = await t.api.get('/api/articles?limit=1').expect(200);
      const byAuthor = await t.api.get(`/api/articles?limit=1&author=${author.username}`).expect(200);
      expect((byAuthor.body as { articlesCount: number }).articlesCount).toBe(1);
      // All: the months' Query (the count, summed), this month's scheduled-post count, the
      // month's feed Query + 3 BatchGetItems.
      expect(dynamoCost(all).calls).toBe(6);
      // An author: the username's GetItem, then beside the page the author's status GetItem
      // (review 19a, L2), the counts' GetItem, the author's scheduled-post count, the author feed
      // Query + 3 BatchGetItems.
      expect(dynamoCost(byAuthor).calls).toBe(8);
      const [slug] = ((all.body as { articles: Article[] }).articles ?? []).map((a) => a.slug);
      await t.api.post(`/api/articles/${slug}/favorite`).set('authorization', token(author)).expect(200);
      const favorited = await t.api.get(`/api/articles?limit=1&favorited=${author.username}`).expect(200);
      expect((favorited.body as { articlesCount: number }).articlesCount).toBe(1);
      // A favoriter: the username's GetItem, then beside the page the favoriter's status GetItem,
      // the counts' GetItem, the COUNT Query of likes placed after now (posts scheduled for later),
      // the likes index Query and the summaries' BatchGetItem, the content's and the author
      // profile's BatchGetItems.
      expect(dynamoCost(favorited).calls).toBe(8);
    });
  });

  describe('offset', () => {
    it('partitions a list with filtered entries between shown ones: consecutive offset pages repeat and skip nothing', async () => {
      const [author, fan] = await Promise.all([register(), register()]);
      await t.api.post(`/api/profiles/${author.username}/follow`).set('authorization', token(fan)).expect(200);
      const articles: Article[] = [];
      for (let i = 0; i < 9; i++) {
        const article = await createArticle(author, { title: `Walked ${i}`, description: 'd', body: 'b' });
        await t.api.post(`/api/articles/${article.slug}/favorite`).set('authorization', token(fan)).expect(200);
        articles.push(article);
      }
      await processStream(t); // the fan-out into the fan's timeline
      // In the middle of both lists: 3 posts unpublished and 1 deleted. Their likes and timeline
      // entries stay until the stream processor runs (not run here): entries filtered on read.
      for (const article of [articles[2], articles[3], articles[4]]) {
        const post = await t.api.get(`/api/v1/posts/by-slug/${article.slug}`).expect(200);
        await t.api
          .post(`/api/v1/posts/${(post.body as { id: string }).id}/unpublish`)
          .set('authorization', `Bearer ${author.token}`)
          .expect(200);
      }
      await t.api.delete(`/api/articles/${articles[6].slug}`).set('authorization', token(author)).expect(200);
      const shown = articles.filter((_, i) => ![2, 3, 4, 6].includes(i)).map((a) => a.slug);

      for (const [path, auth] of [
        [`/api/articles?favorited=${fan.username}`, undefined],
        ['/api/articles/feed', token(fan)],
      ] as const) {
        const whole = await walk(path, 100, auth); // one page: no offset
        expect([...whole].sort()).toEqual([...shown].sort());
        for (const limit of [1, 2, 3, 4]) {
          expect({ path, limit, slugs: await walk(path, limit, auth) }).toEqual({ path, limit, slugs: whole });
        }
      }
    });

    /** Posts past the offset bound, seeded as the repository writes them (not 1,100 requests). */
    const SEEDED = CONDUIT_MAX_OFFSET + 100;

    it(
      'skips with count-only Queries: an offset costs the index entries it passes and 1-2 calls, no read per entry',
      async () => {
        // Its own table: the other lists of this file stay small enough to page through.
        const s = await createTestApp();
        try {
          const res = await s.api
            .post('/api/users')
            .send({ user: { username: 'skipper', email: 'skipper@example.com', password: 'password-1234' } })
            .expect(201);
          const authorId = (await s.queryPartition('UNIQUE#USERNAME#skipper'))[0].userId as string;
          expect(res.body).toMatchObject({ user: { username: 'skipper' } });
          const start = Date.now() - 86_400_000;
          const posts: PostSummary[] = Array.from({ length: SEEDED }, (_, i) => {
            const at = new Date(start + i * 1000).toISOString();
            return {
              id: `skip${String(i).padStart(6, '0')}`,
              authorId,
              authorUsername: 'skipper',
              title: `Skipped ${i}`,
              slug: `skipped-${i}`,
              excerpt: 'An excerpt of about the length a real one has, so the entries weigh what they would.',
              tagIds: [],
              status: 'published',
              publishedAt: at,
              viewCount: 0,
              likeCount: 0,
              commentCount: 0,
              createdAt: at,
              updatedAt: at,
              version: 1,
            };
          });
          const writes = posts.map((post) => ({ PutRequest: { Item: toPostSummaryItem(post) } }));
          for (let i = 0; i < writes.length; i += 25 * 8) {
            await Promise.all(
              Array.from({ length: 8 }, (_, g) => writes.slice(i + g * 25, i + (g + 1) * 25))
                .filter((group) => group.length > 0)
                .map((group) => batchWriteAll(s.db, s.tableName, group)),
            );
          }
          const newestFirst = posts.map((post) => post.slug).reverse();
          const figures: Record<string, { calls: number; rcu: number }> = {};
          for (const list of ['', 'author=skipper']) {
            for (const offset of [0, 100, CONDUIT_MAX_OFFSET]) {
              const page = await s.api.get(`/api/articles?limit=10&offset=${offset}&${list}`).expect(200);
              expect((page.body as { articles: Article[] }).articles.map((a) => a.slug)).toEqual(
                newestFirst.slice(offset, offset + 10),
              );
              const { calls, rcu } = dynamoCost(page);
              figures[`${list || 'all'} offset ${offset}`] = { calls, rcu };
            }
          }
          process.stdout.write(`offset costs (limit 10): ${JSON.stringify(figures)}\n`);
          for (const list of ['all', 'author=skipper']) {
            const at = (offset: number) => figures[`${list} offset ${offset}`];
            // One count-only Query passes 100 or 1,000 entries (a second only past DynamoDB's 1 MB).
            expect(at(100).calls).toBe(at(0).calls + 1);
            expect(at(CONDUIT_MAX_OFFSET).calls).toBeLessThanOrEqual(at(0).calls + 2);
            // It costs the entries it passes, nothing per entry on top: about ten times as much
            // for ten times the entries (read by the kilobyte: ±2 RCU of rounding).
            const skip100 = at(100).rcu - at(0).rcu;
            const skipBound = at(CONDUIT_MAX_OFFSET).rcu - at(0).rcu;
            expect(skip100).toBeGreaterThan(0);
            expect(Math.abs(skipBound - 10 * skip100)).toBeLessThanOrEqual(2 + skip100);
          }
        } finally {
          await s.close();
        }
      },
      SEEDING_TIMEOUT_MS,
    );
  });

  it('reads the feed once a request whatever the offset: each fan-in author is one Query (review 19a M5)', async () => {
    // Every followed author fanned in on read (more than 0 followers): each is one Query a read of the feed.
    const f = await createTestApp({ FEED_FANOUT_MAX_FOLLOWERS: '0', REGISTER_RATE_MAX_PER_IP: '1000' });
    try {
      const signUp = async (name: string) =>
        (
          (
            await f.api
              .post('/api/users')
              .send({ user: { username: name, email: `${name}@example.com`, password: 'password-1234' } })
              .expect(201)
          ).body as { user: ConduitUser }
        ).user;
      const reader = await signUp('fanreader');
      const authors = await Promise.all(Array.from({ length: 6 }, (_, i) => signUp(`fanauthor${i}`)));
      for (const author of authors) {
        await f.api.post(`/api/profiles/${author.username}/follow`).set('authorization', token(reader)).expect(200);
      }
      await processStream(f);
      const slugs: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (const author of authors) {
          const res = await f.api
            .post('/api/articles')
            .set('authorization', token(author))
            .send({ article: { title: `Fan ${round} ${author.username}`, description: 'd', body: 'b' } })
            .expect(201);
          slugs.unshift((res.body as { article: Article }).article.slug);
        }
      }
      await processStream(f);
      const feed = (query: string) =>
        f.api.get(`/api/articles/feed?${query}`).set('authorization', token(reader)).expect(200);
      const whole = await feed('limit=100');
      expect((whole.body as { articles: Article[] }).articles.map((a) => a.slug)).toEqual(slugs);
      const figures: Record<string, number> = {};
      for (const offset of [0, 1, 5, 10, 17]) {
        const page = await feed(`limit=1&offset=${offset}`);
        expect((page.body as { articles: Article[] }).articles.map((a) => a.slug)).toEqual(
          slugs.slice(offset, offset + 1),
        );
        figures[`offset ${offset}`] = dynamoCost(page).calls;
      }
      figures['limit 100'] = dynamoCost(whole).calls;
      process.stdout.write(`feed calls, 6 fan-in authors: ${JSON.stringify(figures)}\n`);
      // The same calls at any offset (before: one more round of 2 + 6 Queries per 100 places
      // passed, and the page of 100 read 30 places a round, 4 rounds of them).
      for (const offset of [1, 5, 10, 17]) expect(figures[`offset ${offset}`]).toBe(figures['offset 0']);
      // limit 100 on top of limit 1: the page's posts (18, one BatchGetItem) and nothing per author.
      expect(figures['limit 100']).toBeLessThanOrEqual(figures['offset 0'] + 2);
    } finally {
      await f.close();
    }
  });

  it("with CONDUIT_PUBLIC_FAVORITES=off, ?favorited= lists the signed-in reader's own likes only: nobody else's", async () => {
    // The suite's app has the default (on): there anyone's likes are listed, signed in or not
    // (the deactivated-account case above lists a fan's anonymously).
    const off = await createTestApp({ CONDUIT_PUBLIC_FAVORITES: 'off' });
    try {
      const [author, fan, other] = await Promise.all([
        register(undefined, off),
        register(undefined, off),
        register(undefined, off),
      ]);
      const article = await createArticle(author, { title: 'Liked in private', description: 'd', body: 'b' }, off);
      await off.api.post(`/api/articles/${article.slug}/favorite`).set('authorization', token(fan)).expect(200);
      await off.mailSent();
      const favoritedBy = async (username: string, reader?: ConduitUser) => {
        const request = off.api.get(`/api/articles?favorited=${username}`);
        const res = await (reader ? request.set('authorization', token(reader)) : request).expect(200);
        const body = res.body as { articles: Article[]; articlesCount: number };
        return { slugs: body.articles.map((a) => a.slug), count: body.articlesCount };
      };
      // The fan's own likes, to the fan.
      expect(await favoritedBy(fan.username, fan)).toEqual({ slugs: [article.slug], count: 1 });
      // Hidden: to an anonymous reader, to another account, to the author of the liked article; an
      // empty list, as an unknown username's (not a 403).
      const nothing = { slugs: [], count: 0 };
      expect(await favoritedBy(fan.username)).toEqual(nothing);
      expect(await favoritedBy(fan.username, other)).toEqual(nothing);
      expect(await favoritedBy(fan.username, author)).toEqual(nothing);
      expect(await favoritedBy('nobody-here', fan)).toEqual(nothing);
      // Not hidden: how many like an article, and whether the reader does.
      const read = async (reader?: ConduitUser) => {
        const request = off.api.get(`/api/articles/${article.slug}`);
        const res = await (reader ? request.set('authorization', token(reader)) : request).expect(200);
        return (res.body as { article: Article }).article;
      };
      expect(await read()).toMatchObject({ favorited: false, favoritesCount: 1 });
      expect(await read(fan)).toMatchObject({ favorited: true, favoritesCount: 1 });
    } finally {
      await off.close();
    }
  });

  it('is absent with CONDUIT_API=off (404), while the native API still serves', async () => {
    const off = await createTestApp({ CONDUIT_API: 'off' });
    try {
      await off.http.get('/api/tags').expect(404);
      await off.http.post('/api/users').send({ user: {} }).expect(404);
      await off.http.get('/api/v1/tags').expect(200);
    } finally {
      await off.close();
    }
  });
});
