import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  type TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_DOCUMENT_CLIENT } from '../src/dynamo/dynamo.constants.js';
import { Keys } from '../src/dynamo/keys.js';
import { DynamoUsage, runWithUsage } from '../src/dynamo/request-accounting.js';
import { batchWriteAll } from '../src/dynamo/batch.js';
import { MAX_FAN_IN_AUTHORS, toFollowCountsItem, toFollowItem } from '../src/follows/follow-items.js';
import { FollowsRepository } from '../src/follows/follows.repository.js';
import { FeedFanout } from '../src/feed/feed-fanout.js';
import { toTimelineItem } from '../src/feed/timeline.repository.js';
import { dayAttribute } from '../src/posts/feed-days.js';
import { toUserItem } from '../src/users/users.repository.js';
import { atScale } from './helpers/scale.js';
import { processStream } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  retryingUnavailable,
  setUserAttributes,
  signInAdmin,
  signUp,
  type SignedIn,
  type TestApp,
  SEEDING_TIMEOUT_MS,
  seededUser,
} from './helpers/test-app.js';

jest.setTimeout(SEEDING_TIMEOUT_MS);

/** The 100 in `npm run test:scale`; 30 in `npm test` (each follow is a transaction on the author's counter). */
const CONCURRENT_FOLLOWERS = atScale(30, 100);
/** How many of them also follow a second time at once, and how many unfollow at once. */
const DOUBLE_FOLLOWS = CONCURRENT_FOLLOWERS / 5;
const UNFOLLOWS = (CONCURRENT_FOLLOWERS * 3) / 5;

interface PublicUser {
  followerCount: number;
  followingCount: number;
  followedByMe?: boolean;
}

describe('follows (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const follow = (as: SignedIn, id: string) => t.api.put(`/api/v1/users/${id}/follow`).set('authorization', as.bearer);
  const unfollow = (as: SignedIn, id: string) =>
    t.api.delete(`/api/v1/users/${id}/follow`).set('authorization', as.bearer);
  const publicUser = async (id: string, as?: SignedIn): Promise<PublicUser> => {
    const req = t.api.get(`/api/v1/users/${id}`);
    if (as) void req.set('authorization', as.bearer);
    return (await req.expect(200)).body as PublicUser;
  };

  /** Registers `n` users, a few at a time (each registration hashes a password). */
  /** A post of `author`'s, created and published through the API: the publication's answer. */
  async function publishPost(
    author: SignedIn,
    title: string,
  ): Promise<{ id: string; authorId: string; publishedAt: string }> {
    const draft = await t.api
      .post('/api/v1/posts')
      .set('authorization', author.bearer)
      .send({ title, content: 'x' })
      .expect(201);
    const published = await t.api
      .post(`/api/v1/posts/${(draft.body as { id: string }).id}/publish`)
      .set('authorization', author.bearer)
      .send({})
      .expect(200);
    return published.body as { id: string; authorId: string; publishedAt: string };
  }

  async function signUpMany(n: number): Promise<SignedIn[]> {
    const users: SignedIn[] = [];
    while (users.length < n) {
      users.push(...(await Promise.all(Array.from({ length: Math.min(10, n - users.length) }, () => signUp(t)))));
    }
    return users;
  }

  it('follows and unfollows idempotently, with counts and followedByMe on the public user view', async () => {
    const [reader, author] = await signUpMany(2);
    expect((await follow(reader, author.userId).expect(200)).body).toEqual({ following: true, followerCount: 1 });
    expect((await follow(reader, author.userId).expect(200)).body).toEqual({ following: true, followerCount: 1 });

    expect(await publicUser(author.userId, reader)).toMatchObject({
      followerCount: 1,
      followingCount: 0,
      followedByMe: true,
    });
    expect(await publicUser(reader.userId, author)).toMatchObject({
      followerCount: 0,
      followingCount: 1,
      followedByMe: false,
    });
    const anonymous = await publicUser(author.userId);
    expect(anonymous.followerCount).toBe(1);
    expect(anonymous).not.toHaveProperty('followedByMe');

    expect((await unfollow(reader, author.userId).expect(200)).body).toEqual({ following: false, followerCount: 0 });
    expect((await unfollow(reader, author.userId).expect(200)).body).toEqual({ following: false, followerCount: 0 });
    expect(await publicUser(author.userId, reader)).toMatchObject({ followerCount: 0, followedByMe: false });
    expect(await publicUser(reader.userId)).toMatchObject({ followingCount: 0 });
  });

  it('the public view reads the counts in its one Query; signed in, one GetItem more for followedByMe', async () => {
    const [reader, author] = await signUpMany(2);
    await follow(reader, author.userId).expect(200);
    expect(dynamoCost(await t.api.get(`/api/v1/users/${author.userId}`).expect(200)).calls).toBe(1);
    // The token check's BatchGetItem, the Query and the edge's GetItem.
    const signedIn = await t.api.get(`/api/v1/users/${author.userId}`).set('authorization', reader.bearer).expect(200);
    expect(dynamoCost(signedIn).calls).toBe(3);
  });

  it('refuses to follow yourself (422), an unknown user or a deactivated one (404), writing nothing', async () => {
    const [reader, gone] = await signUpMany(2);
    const self = await follow(reader, reader.userId).expect(422);
    expect(self.body.code).toBe('cannot_follow_self');
    expect((await unfollow(reader, reader.userId).expect(422)).body.code).toBe('cannot_follow_self');
    expect((await follow(reader, 'AAAAAAAAAAAAAAAAAAAAA').expect(404)).body.code).toBe('user_not_found');
    await setUserAttributes(t, gone.userId, { status: 'inactive' });
    expect((await follow(reader, gone.userId).expect(404)).body.code).toBe('user_not_found');
    expect((await follow(reader, 'not-an-id').expect(400)).body.code).toBe('validation_failed');
    expect(await t.getItem(Keys.follow(reader.userId, gone.userId).PK, 'FOLLOW')).toBeUndefined();
    expect(await t.getItem(Keys.followCounts(reader.userId).PK, Keys.followCounts(reader.userId).SK)).toBeUndefined();
  });

  it('unfollows a deactivated account (200): its followers keep it in their count, unlisted, until they do', async () => {
    const [reader, gone] = await signUpMany(2);
    await follow(reader, gone.userId).expect(200);
    await setUserAttributes(t, gone.userId, { status: 'inactive' });
    // It keeps its edges (a reactivation brings them back): counted, though no listing shows it.
    expect(await publicUser(reader.userId)).toMatchObject({ followingCount: 1 });
    const listed = await t.api.get(`/api/v1/users/${reader.userId}/following`).expect(200);
    expect((listed.body as { items: unknown[] }).items).toEqual([]);
    // Not followed again (404), but the reader can drop it; twice changes nothing.
    expect((await follow(reader, gone.userId).expect(404)).body.code).toBe('user_not_found');
    expect((await unfollow(reader, gone.userId).expect(200)).body).toEqual({ following: false, followerCount: 0 });
    expect((await unfollow(reader, gone.userId).expect(200)).body).toEqual({ following: false, followerCount: 0 });
    expect(await t.getItem(Keys.follow(reader.userId, gone.userId).PK, 'FOLLOW')).toBeUndefined();
    expect(await publicUser(reader.userId)).toMatchObject({ followingCount: 0 });
  });

  it(`keeps followerCount exact under ${CONCURRENT_FOLLOWERS} concurrent follows of one author, and as many unfollows`, async () => {
    const [author, ...followers] = await signUpMany(CONCURRENT_FOLLOWERS + 1);
    // Each follower also follows twice at once: the second must count for nothing. A 503 (the
    // transactions on the author's counter item conflicting past the server's retries) is sent
    // again, as a client would: follows and unfollows are idempotent.
    const results = await Promise.all(
      [...followers, ...followers.slice(0, DOUBLE_FOLLOWS)].map((reader) =>
        retryingUnavailable(() => follow(reader, author.userId)),
      ),
    );
    expect(results.map((res) => res.status)).toEqual(results.map(() => 200));
    expect((await publicUser(author.userId)).followerCount).toBe(CONCURRENT_FOLLOWERS);
    for (const reader of followers.slice(0, 5)) expect((await publicUser(reader.userId)).followingCount).toBe(1);

    const undone = await Promise.all(
      followers.slice(0, UNFOLLOWS).map((reader) => retryingUnavailable(() => unfollow(reader, author.userId))),
    );
    expect(undone.map((res) => res.status)).toEqual(undone.map(() => 200));
    expect((await publicUser(author.userId)).followerCount).toBe(CONCURRENT_FOLLOWERS - UNFOLLOWS);
  });

  it('lists followers and following in cursor pages, newest first, one Query and one BatchGetItem a page', async () => {
    const [author, ...readers] = await signUpMany(6);
    for (const reader of readers) await follow(reader, author.userId).expect(200);
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const res = await t.api
        .get(`/api/v1/users/${author.userId}/followers`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(dynamoCost(res).calls).toBe(2);
      const body = res.body as {
        items: { id: string; username: string; followedAt: string }[];
        nextCursor: string | null;
      };
      seen.push(...body.items.map((item) => item.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(readers.map((reader) => reader.userId).reverse());

    const following = await t.api.get(`/api/v1/users/${readers[0].userId}/following`).expect(200);
    expect(following.body.items.map((item: { id: string }) => item.id)).toEqual([author.userId]);
    expect(following.body.nextCursor).toBeNull();
    expect((await t.api.get(`/api/v1/users/AAAAAAAAAAAAAAAAAAAAA/followers`).expect(404)).body.code).toBe(
      'user_not_found',
    );
    const other = await t.api.get(`/api/v1/users/${readers[1].userId}/followers`).expect(200);
    await t.api
      .get(`/api/v1/users/${author.userId}/followers`)
      .query({ cursor: other.body.nextCursor ?? 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
      .expect(400);
  });

  it('a deactivated account: its follow lists are 404 as an unknown one’s, it leaves the lists of others, and a page short by it is filled with at most 2 more reads', async () => {
    const [author, r1, r2, r3, r4, r5] = await signUpMany(6);
    for (const reader of [r1, r2, r3, r4, r5]) {
      t.clock.advance(1000); // followedAt orders the list: one a second
      await follow(reader, author.userId).expect(200);
    }
    await follow(author, r3.userId).expect(200);
    for (const gone of [r2, r3, r4]) await setUserAttributes(t, gone.userId, { status: 'inactive' });
    await setUserAttributes(t, r5.userId, { status: 'suspended' }); // a suspended account stays listed
    const page = async (limit: number, cursor?: string | null) => {
      const res = await t.api
        .get(`/api/v1/users/${author.userId}/followers`)
        .query({ limit, ...(cursor ? { cursor } : {}) })
        .expect(200);
      const body = res.body as { items: { id: string }[]; nextCursor: string | null };
      return { ids: body.items.map((item) => item.id), nextCursor: body.nextCursor, calls: dynamoCost(res).calls };
    };

    // Newest first r5, r4, r3, r2, r1. The first read (4) shows r5 only; the second asks for the
    // 3 missing and shows r1, the last: 2 reads of a Query and a BatchGetItem each.
    expect(await page(4)).toEqual({ ids: [r5.userId, r1.userId], nextCursor: null, calls: 4 });
    // Pages of one: the second reads r4, r3 and r2, all hidden, and stops there (3 reads, 6 calls),
    // empty with its cursor; the next goes on to r1.
    const first = await page(1);
    expect(first).toMatchObject({ ids: [r5.userId], calls: 2 });
    const capped = await page(1, first.nextCursor);
    expect(capped).toMatchObject({ ids: [], calls: 6 });
    expect(capped.nextCursor).not.toBeNull();
    expect((await page(1, capped.nextCursor)).ids).toEqual([r1.userId]);

    // The deactivated account's own lists answer as an unknown id's (404), at no extra call.
    for (const list of ['followers', 'following']) {
      for (const id of [r3.userId, 'AAAAAAAAAAAAAAAAAAAAA']) {
        const res = await t.api.get(`/api/v1/users/${id}/${list}`).expect(404);
        expect(res.body.code).toBe('user_not_found');
        expect(dynamoCost(res).calls).toBe(2);
      }
    }
    // The author's following list leaves r3 out.
    expect((await t.api.get(`/api/v1/users/${author.userId}/following`).expect(200)).body.items).toEqual([]);
  });

  it('a hard-deleted user loses their follows in both directions, with the other users’ counts', async () => {
    const [leaving, followedA, followedB, fan] = await signUpMany(4);
    await follow(leaving, followedA.userId).expect(200);
    await follow(leaving, followedB.userId).expect(200);
    await follow(fan, leaving.userId).expect(200);
    await follow(fan, followedA.userId).expect(200);
    await t.api.delete(`/api/v1/users/${leaving.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);
    await processStream(t);

    expect(await publicUser(followedA.userId)).toMatchObject({ followerCount: 1 });
    expect(await publicUser(followedB.userId)).toMatchObject({ followerCount: 0 });
    expect(await publicUser(fan.userId)).toMatchObject({ followingCount: 1 });
    for (const key of [
      Keys.follow(leaving.userId, followedA.userId),
      Keys.follow(leaving.userId, followedB.userId),
      Keys.follow(fan.userId, leaving.userId),
      Keys.followCounts(leaving.userId),
    ]) {
      expect(await t.getItem(key.PK, key.SK)).toBeUndefined();
    }
    const fanFollowing = await t.api.get(`/api/v1/users/${fan.userId}/following`).expect(200);
    expect(fanFollowing.body.items.map((item: { id: string }) => item.id)).toEqual([followedA.userId]);
    // A second delivery of the same records changes nothing.
    await processStream(t);
    expect(await publicUser(followedA.userId)).toMatchObject({ followerCount: 1 });
  });

  /**
   * Review #7's promotion race, written in the order the index-paging promotion loses: the edge
   * appears only after the promotion has run (an edge that committed while the promotion paged an
   * index that did not show it yet); and an edge that arrives before its users is not mistaken for
   * one of an erased user.
   */
  describe('a new follow edge is checked against its users by the processor (review #7)', () => {
    const edgeOf = (followerId: string, authorId: string) => {
      const key = Keys.follow(followerId, authorId);
      return t.getItem(key.PK, key.SK);
    };
    /** What a follow's transaction writes (the edge, both counts), without the request's checks. */
    async function committedFollow(followerId: string, authorId: string): Promise<void> {
      const count = (userId: string, counter: string) =>
        new UpdateCommand({
          TableName: t.tableName,
          Key: Keys.followCounts(userId),
          UpdateExpression: 'SET entity = :entity ADD #counter :one',
          ExpressionAttributeNames: { '#counter': counter },
          ExpressionAttributeValues: { ':one': 1, ':entity': 'FollowCounts' },
        });
      await t.db.send(
        new PutCommand({ TableName: t.tableName, Item: toFollowItem(followerId, authorId, new Date().toISOString()) }),
      );
      await t.db.send(count(authorId, 'followerCount'));
      await t.db.send(count(followerId, 'followingCount'));
    }

    it('an edge written before its users (the order an import may write) is kept, with its counts', async () => {
      // Ids of users not in the table yet: an import writes lines in its file's order.
      const [follower, author] = ['early-follower-000001', 'early-author-00000001'];
      await committedFollow(follower, author);
      await processStream(t);
      expect(await edgeOf(follower, author)).toBeDefined();
      const counts = await t.getItem(Keys.followCounts(author).PK, Keys.followCounts(author).SK);
      expect(counts?.followerCount).toBe(1);
    });

    it('a follower of an author promoted to fan-in before the edge was seen gets the author in their fan-in set', async () => {
      const [reader, author] = [await signUp(t), await signUp(t)];
      // The author is fan-in, and the promotion has run (it found no follower).
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: toFollowCountsItem(author.userId, { followerCount: 0, followingCount: 0, fanIn: true }),
        }),
      );
      await processStream(t);
      await committedFollow(reader.userId, author.userId);

      await processStream(t);
      const counts = await t.getItem(Keys.followCounts(reader.userId).PK, Keys.followCounts(reader.userId).SK);
      expect(counts?.fanInAuthors).toEqual(new Set([author.userId]));
      expect(await edgeOf(reader.userId, author.userId)).toBeDefined();
    });

    /** An author marked fan-in whose promotion has run (it found no follower). */
    async function fanInAuthor(): Promise<SignedIn> {
      const author = await signUp(t);
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: toFollowCountsItem(author.userId, { followerCount: 0, followingCount: 0, fanIn: true }),
        }),
      );
      await processStream(t);
      return author;
    }

    it("an edge removed after its follower's user item went (an erasure's) recreates nothing in the follower's partition (review 12, M5)", async () => {
      const author = await signUp(t);
      const post = await publishPost(author, 'Read by the erased');
      // An erased reader (no user item) whose edge and timeline entry are still there: the
      // erasure's stream work deleted the user's partition before the edge's REMOVE is handled.
      const erased = 'erased-follower-0001';
      await committedFollow(erased, author.userId);
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: toTimelineItem(erased, post),
        }),
      );
      await processStream(t);
      const edge = Keys.follow(erased, author.userId);
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: edge }));
      await processStream(t);
      const days = Keys.feedDays(erased);
      expect(await t.getItem(days.PK, days.SK)).toBeUndefined();

      // The same reader erased after that read, before the clean-up's transaction (the race left
      // by the read): the transaction's update of the reader's FEED#DAYS is conditioned on the item
      // (gone with the erased partition), so it writes nothing.
      expect(await t.app.get(FeedFanout).authorLeft(erased, author.userId)).toBe(0);
      expect(await t.getItem(days.PK, days.SK)).toBeUndefined();
    });

    it('a fan-out to a reader erased meanwhile writes nothing for them, nor does the withdrawal: no entry, no FEED#DAYS back', async () => {
      const [author, reader] = [await signUp(t), await signUp(t)];
      await follow(reader, author.userId).expect(200);
      // An erased reader whose edge the fan-out still finds: it read the followers index before the
      // erasure's stream work removed the edge (the user item went first, in the erasing request).
      const erased = 'erased-follower-0002';
      await committedFollow(erased, author.userId);
      await processStream(t);
      const post = await publishPost(author, 'Fanned out past the erased');
      await processStream(t);
      const day = dayAttribute(post.publishedAt);
      const entry = (readerId: string) => Keys.timelineEntry(readerId, post.publishedAt, post.id);
      const daysOf = (readerId: string) => t.getItem(Keys.feedDays(readerId).PK, Keys.feedDays(readerId).SK);
      expect(await t.getItem(entry(reader.userId).PK, entry(reader.userId).SK)).toBeDefined();
      expect((await daysOf(reader.userId))?.[day]).toBe(1);
      expect(await t.getItem(entry(erased).PK, entry(erased).SK)).toBeUndefined();
      expect(await daysOf(erased)).toBeUndefined();

      // The withdrawal, with an entry still in the erased reader's timeline (the erasure deletes
      // their FEED#DAYS and their timeline one after the other): its -1 recreates nothing.
      await t.db.send(new PutCommand({ TableName: t.tableName, Item: toTimelineItem(erased, post) }));
      await t.api.post(`/api/v1/posts/${post.id}/unpublish`).set('authorization', author.bearer).send({}).expect(200);
      await processStream(t);
      expect(await t.getItem(entry(reader.userId).PK, entry(reader.userId).SK)).toBeUndefined();
      expect((await daysOf(reader.userId))?.[day]).toBe(0);
      expect(await daysOf(erased)).toBeUndefined();
    });

    it('a live reader without FEED#DAYS (an account written without it) has it made by the fan-out and gets the entry (review 15b M-D1)', async () => {
      const [author, reader] = [await signUp(t), await signUp(t)];
      await follow(reader, author.userId).expect(200);
      const erased = 'erased-follower-0003';
      await committedFollow(erased, author.userId);
      await processStream(t);
      const days = Keys.feedDays(reader.userId);
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: days }));
      const post = await publishPost(author, 'Read without day counts');
      await processStream(t);
      const entry = (readerId: string) => Keys.timelineEntry(readerId, post.publishedAt, post.id);
      expect(await t.getItem(entry(reader.userId).PK, entry(reader.userId).SK)).toBeDefined();
      expect((await t.getItem(days.PK, days.SK))?.[dayAttribute(post.publishedAt)]).toBe(1);
      // The erased reader in the same transaction group: found absent, nothing made for them.
      expect(await t.getItem(entry(erased).PK, entry(erased).SK)).toBeUndefined();
      expect(await t.getItem(Keys.feedDays(erased).PK, Keys.feedDays(erased).SK)).toBeUndefined();
    });

    it('a reader erased after a fan-out wrote to them keeps nothing: the erasure deletes FEED#DAYS, then the timeline', async () => {
      const [author, reader] = [await signUp(t), await signUp(t)];
      await follow(reader, author.userId).expect(200);
      await processStream(t);
      const post = await publishPost(author, 'Fanned out before the erasure');
      // The erasure commits before the processor reaches the publication: the fan-out may still find
      // the reader's edge and FEED#DAYS (when it runs before the erasure's stream work) and write
      // to them; the erasure's stream work then deletes FEED#DAYS and the timeline.
      await t.api
        .delete('/api/v1/users/me?mode=erase')
        .set('authorization', reader.bearer)
        .send({ password: reader.password })
        .expect(204);
      await processStream(t);
      const entry = Keys.timelineEntry(reader.userId, post.publishedAt, post.id);
      expect(await t.getItem(entry.PK, entry.SK)).toBeUndefined();
      expect(await t.getItem(Keys.feedDays(reader.userId).PK, Keys.feedDays(reader.userId).SK)).toBeUndefined();
      expect(await t.queryPartition(Keys.timelinePartition(reader.userId))).toEqual([]);
    });

    it("the fan-out's transactions hold no item its readers' requests write: readers renaming themselves meanwhile get no 503 (review 14, L-C2)", async () => {
      const author = await signUp(t);
      const readers = await signUpMany(12);
      await Promise.all(readers.map((reader) => follow(reader, author.userId).expect(200)));
      await processStream(t);
      await publishPost(author, 'Read while renaming');

      // The items of every transaction that writes a timeline (the fan-out's), as sent.
      const db = t.app.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT);
      const send = db.send.bind(db) as (command: unknown) => Promise<unknown>;
      const held: string[] = [];
      const spy = jest.spyOn(db, 'send').mockImplementation(((command: TransactWriteCommand) => {
        const keys = (command.input.TransactItems ?? []).map((item) => {
          const key = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key ?? {};
          return `${String(key.PK)} ${String(key.SK)}`;
        });
        if (keys.some((key) => key.startsWith('TIMELINE#'))) held.push(...keys);
        return send(command);
      }) as never);
      // Each reader renames themself twice (a transaction on their user item) while the processor fans out.
      const renames = async () => {
        const statuses: number[] = [];
        for (const round of [1, 2]) {
          const answers = await Promise.all(
            readers.map((reader) =>
              t.api
                .patch('/api/v1/users/me')
                .set('authorization', reader.bearer)
                .send({ firstName: `Renamed ${round}` }),
            ),
          );
          statuses.push(...answers.map((res) => res.status));
        }
        return statuses;
      };
      let statuses: number[];
      try {
        [, statuses] = await Promise.all([processStream(t), renames()]);
      } finally {
        spy.mockRestore();
      }
      expect(statuses).toEqual(readers.flatMap(() => [200, 200]));
      // Only the readers' timeline entries and their FEED#DAYS, which no request writes: with a check
      // of each reader's user item, a rename committing meanwhile cancelled the fan-out's transaction
      // and a rename arriving while it held the item failed with TransactionConflict (503).
      expect(held.length).toBeGreaterThanOrEqual(readers.length * 2);
      for (const reader of readers) {
        expect(held).toContain(`${Keys.feedDays(reader.userId).PK} ${Keys.feedDays(reader.userId).SK}`);
      }
      expect(held.filter((key) => !key.startsWith('TIMELINE#') && !key.endsWith(' FEED#DAYS'))).toEqual([]);
    });

    it("a fan-in flag's record handled after its author's erasure starts no promotion job (review 13, L-a3)", async () => {
      // The author's counter item flagged, as the erasure's cascade finds it: the user item is gone
      // (the erasing request removed it), and the flag's record is handled late (or replayed).
      const erased = 'erased-author-0000001';
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: toFollowCountsItem(erased, { followerCount: 0, followingCount: 0, fanIn: true }),
        }),
      );
      await processStream(t);
      const job = Keys.fanInPromotionJob(erased);
      expect(await t.getItem(job.PK, job.SK)).toBeUndefined();

      // An author who is there gets the job (run through: no follower, so done at once).
      const author = await fanInAuthor();
      const started = Keys.fanInPromotionJob(author.userId);
      expect(await t.getItem(started.PK, started.SK)).toMatchObject({ done: true });
    });

    it('a follow of an author already fan-in costs the processor no transaction: the follow added the author (review 3, #10)', async () => {
      const [reader, author] = [await signUp(t), await fanInAuthor()];
      await t.api.put(`/api/v1/users/${author.userId}/follow`).set('authorization', reader.bearer).expect(200);
      const usage = new DynamoUsage();
      await runWithUsage(usage, () => processStream(t));
      expect(usage.commands.filter((command) => command.startsWith('TransactWrite'))).toEqual([]);
      const counts = await t.getItem(Keys.followCounts(reader.userId).PK, Keys.followCounts(reader.userId).SK);
      expect(counts?.fanInAuthors).toEqual(new Set([author.userId]));
    });

    it('the processor keeps a full fan-in set at its cap, as a follow request does (review 3, #10)', async () => {
      const [reader, author] = [await signUp(t), await fanInAuthor()];
      const full = Array.from({ length: MAX_FAN_IN_AUTHORS }, (_, n) => `capped${String(n).padStart(14, '0')}`);
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: toFollowCountsItem(reader.userId, {
            followerCount: 0,
            followingCount: MAX_FAN_IN_AUTHORS,
            fanInAuthors: full,
          }),
        }),
      );
      await committedFollow(reader.userId, author.userId);
      await processStream(t);
      const counts = await t.getItem(Keys.followCounts(reader.userId).PK, Keys.followCounts(reader.userId).SK);
      expect((counts?.fanInAuthors as Set<string>).size).toBe(MAX_FAN_IN_AUTHORS);
      expect((counts?.fanInAuthors as Set<string>).has(author.userId)).toBe(false);
      // The refusal is marked on the edge once (what feed_fan_in_set_full_total counts): a second
      // handling of the edge finds the mark and writes nothing.
      const edge = Keys.follow(reader.userId, author.userId);
      expect(await t.getItem(edge.PK, edge.SK)).toMatchObject({ fanInSetFull: true });
      expect(await t.app.get(FollowsRepository).markFanInSetFull(reader.userId, author.userId)).toBe(false);
    });
  });

  it('refuses a follow past 100 fan-in authors (422 too_many_fan_in_follows), also to concurrent follows', async () => {
    const fanIn = await createTestApp();
    try {
      const reader = await signUp(fanIn);
      // 102 authors already fan-in (past FEED_FANOUT_MAX_FOLLOWERS once), written with the
      // modules' own item builders: what is under test is the reader's follows, not how the
      // authors got there (the promotion has its own tests above).
      const base = Date.parse('2026-01-01T00:00:00.000Z');
      const authors = Array.from({ length: MAX_FAN_IN_AUTHORS + 2 }, (_, n) => {
        const id = `fan${String(n).padStart(18, '0')}`;
        const at = new Date(base + n * 1000).toISOString();
        return seededUser(id, at, { username: `fan-${n}` });
      });
      await batchWriteAll(
        fanIn.db,
        fanIn.tableName,
        authors.flatMap((user) => [
          { PutRequest: { Item: toUserItem(user) } },
          { PutRequest: { Item: toFollowCountsItem(user.id, { followerCount: 1, followingCount: 0, fanIn: true }) } },
        ]),
      );
      const followAs = (as: SignedIn, id: string) =>
        fanIn.api.put(`/api/v1/users/${id}/follow`).set('authorization', as.bearer);
      const [last1, last2, ...first] = authors.map((user) => ({ userId: user.id }));
      for (let i = 0; i < MAX_FAN_IN_AUTHORS - 1; i += 10) {
        await Promise.all(
          first.slice(i, Math.min(i + 10, MAX_FAN_IN_AUTHORS - 1)).map((a) => followAs(reader, a.userId).expect(200)),
        );
      }
      // 99 fan-in authors followed: of three concurrent follows, exactly one gets the last place.
      const statuses = await Promise.all(
        [last1, last2, first[MAX_FAN_IN_AUTHORS - 1]].map(async (a) => {
          const res = await followAs(reader, a.userId);
          return res.status === 422 ? (res.body as { code: string }).code : String(res.status);
        }),
      );
      expect(statuses.sort()).toEqual(['200', 'too_many_fan_in_follows', 'too_many_fan_in_follows']);
      const counts = await fanIn.getItem(Keys.followCounts(reader.userId).PK, Keys.followCounts(reader.userId).SK);
      expect((counts?.fanInAuthors as Set<string>).size).toBe(MAX_FAN_IN_AUTHORS);
      expect(counts?.followingCount).toBe(MAX_FAN_IN_AUTHORS);
    } finally {
      await fanIn.close();
    }
  });
});
