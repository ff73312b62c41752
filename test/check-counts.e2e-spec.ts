import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Keys } from '../src/dynamo/keys.js';
import { dayAttribute, timelineEntryTtl } from '../src/posts/feed-days.js';
import { PostsRepository } from '../src/posts/posts.repository.js';
import { CHILD_PROCESS_TIMEOUT_MS, runBuiltCommand } from './helpers/built-scripts.js';
import { ADMIN_ENV, createTestApp, signInAdmin, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

jest.setTimeout(CHILD_PROCESS_TIMEOUT_MS);

describe('npm run db:check-counts (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  const ids = { tag: '', category: '', post: '', comment: '', readers: [] as string[], bearers: [] as string[] };

  /** Runs the built command on the suite's table: its exit code and output. */
  const checkCounts = (...args: string[]) =>
    runBuiltCommand('check-counts', args, { endpoint: t.config.dynamo.endpoint, tableName: t.tableName });

  /** Sets attributes of an item directly: the drift a bug, a partial restore or a hand edit leaves. */
  const corrupt = (Key: { PK: string; SK: string }, values: Record<string, number>) =>
    t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key,
        UpdateExpression: `SET ${Object.keys(values)
          .map((_, i) => `#a${i} = :v${i}`)
          .join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(Object.keys(values).map((name, i) => [`#a${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(Object.values(values).map((value, i) => [`:v${i}`, value])),
      }),
    );

  beforeAll(async () => {
    t = await createTestApp({ ...ADMIN_ENV, COMMENT_AUTO_APPROVE: 'all' });
    admin = await signInAdmin(t);
    const as = (user: SignedIn) => ({
      post: (url: string, body: object) => t.api.post(url).set('authorization', user.bearer).send(body),
      put: (url: string) => t.api.put(url).set('authorization', user.bearer).send({}),
    });
    ids.tag = (await as(admin).post('/api/v1/tags', { name: 'Counting' }).expect(201)).body.id;
    ids.category = (await as(admin).post('/api/v1/categories', { name: 'Counted' }).expect(201)).body.id;
    ids.post = (
      await as(admin)
        .post('/api/v1/posts', { title: 'Counted post', content: 'x', tagIds: [ids.tag], categoryId: ids.category })
        .expect(201)
    ).body.id;
    await as(admin).post(`/api/v1/posts/${ids.post}/publish`, {}).expect(200);
    const readers = [await signUp(t), await signUp(t)];
    // Both kinds of like: the first counted on the post's COUNTS item (a quiet post's), the second
    // on its like shard (as a hot post's is: src/posts/like-heat.ts).
    await as(readers[0]).put(`/api/v1/posts/${ids.post}/like`).expect(200);
    await t.app.get(PostsRepository).addLike(ids.post, readers[1].userId, new Date().toISOString(), undefined, false);
    ids.comment = (
      await as(readers[0]).post(`/api/v1/posts/${ids.post}/comments`, { content: 'Top' }).expect(201)
    ).body.id;
    await as(readers[1])
      .post(`/api/v1/posts/${ids.post}/comments`, { content: 'Reply', parentId: ids.comment })
      .expect(201);
    await as(readers[1]).put(`/api/v1/posts/${ids.post}/comments/${ids.comment}/like`).expect(200);
    // Both readers follow the admin; the first also follows the second.
    for (const reader of readers) await as(reader).put(`/api/v1/users/${admin.userId}/follow`).expect(200);
    await as(readers[0]).put(`/api/v1/users/${readers[1].userId}/follow`).expect(200);
    ids.readers = readers.map((reader) => reader.userId);
    ids.bearers = readers.map((reader) => reader.bearer);
  });
  afterAll(async () => {
    await t.close();
  });

  it('finds every counter exact on data written through the API, and exits 0', async () => {
    const { code, output } = await checkCounts();
    expect(output).toContain('tag postCount: 1 checked, 0 drifted');
    expect(output).toContain('category postCount: 1 checked, 0 drifted');
    expect(output).toContain('post likeCount: 1 checked, 0 drifted');
    expect(output).toContain('post commentCount: 1 checked, 0 drifted');
    expect(output).toContain('comment likeCount: 2 checked, 0 drifted');
    expect(output).toContain('comment replyCount: 1 checked, 0 drifted');
    // The admin and the second reader have followers; both readers follow someone.
    expect(output).toContain('user followerCount: 2 checked, 0 drifted');
    expect(output).toContain('user followingCount: 2 checked, 0 drifted');
    // One month with a published post, its author, and the two readers who liked it.
    expect(output).toContain('month publishedCount: 1 checked, 0 drifted');
    expect(output).toContain('user publishedCount: 1 checked, 0 drifted');
    expect(output).toContain('user likedCount: 2 checked, 0 drifted');
    expect(output).toContain('activeAdmins: 1 checked, 0 drifted');
    // Nothing hidden: nothing to run --fix for.
    expect(output.split('\n')).toContain('hidden timeline entries: 0 found');
    expect(output).toContain('Every counter matches its recount.');
    expect(code).toBe(0);
  });

  it("writes its report as plain lines on stdout and its log lines as the server's JSON on stderr (review 18c)", async () => {
    // With creation allowed, the table check logs a line (`Table <name> exists`); this table has its
    // baseline, so the check does not wait for one.
    const { code, stdout, stderr } = await runBuiltCommand(
      'check-counts',
      [],
      { endpoint: t.config.dynamo.endpoint, tableName: t.tableName },
      { DYNAMODB_CREATE_TABLE: 'true' },
    );
    expect(code).toBe(0);
    // The report: for a person and for grep, no JSON, no colour.
    expect(stdout.split('\n')).toContain('Every counter matches its recount.');
    expect(stdout).not.toMatch(/^\{/m);
    expect(stdout).not.toContain('\u001b[');
    // The log: one JSON object a line, the server's keys (was Nest's coloured `[Nest] ... LOG [Database]`).
    const lines = stderr.split('\n').filter((line) => line.startsWith('{'));
    const logs = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 30,
        service: 'publishing-api',
        context: 'Database',
        msg: `Table ${t.tableName} exists`,
        time: expect.any(String),
      }),
    );
    expect(stderr).not.toContain('[Nest]');
  });

  it('reports each corrupted counter with its stored and actual value and exits 1; --fix repairs them all', async () => {
    const comment = (await t.allItems()).find((i) => i.entity === 'Comment' && i.id === ids.comment)!;
    const commentKey = { PK: String(comment.PK), SK: String(comment.SK) };
    await corrupt({ PK: `TAG#${ids.tag}`, SK: 'TAG' }, { postCount: 5, GSI5SK: 5 });
    await corrupt({ PK: 'CATEGORIES', SK: `CATEGORY#${ids.category}` }, { postCount: 0 });
    // A post's counts are its summary's base (0 here) plus its COUNTS item (1 like here), and for
    // likes its like shards' counts (1 here: src/posts/like-shards.ts).
    await corrupt({ PK: `POST#${ids.post}`, SK: 'COUNTS' }, { likeCount: 7, commentCount: 9 });
    await corrupt(commentKey, { likeCount: 3, replyCount: 0 });
    await corrupt({ PK: 'STATS#USERS', SK: 'ACTIVE_ADMINS' }, { activeAdmins: 2 });
    await corrupt({ PK: `USER#${admin.userId}`, SK: 'USER#FOLLOWS' }, { followerCount: 9 });
    // A counter item lost altogether (a partial restore): its edges still count.
    await t.db.send(
      new DeleteCommand({ TableName: t.tableName, Key: { PK: `USER#${ids.readers[0]}`, SK: 'USER#FOLLOWS' } }),
    );
    // The published-post counters behind Conduit's articlesCount: a month, an author, a liker.
    const month = String((await t.getItem(`POST#${ids.post}`, 'POST'))!.publishedAt).slice(0, 7);
    await corrupt({ PK: 'FEED#MONTHS', SK: month }, { publishedCount: 3 });
    await corrupt({ PK: `USER#${admin.userId}`, SK: 'USER#POSTS' }, { publishedCount: 4 });
    await t.db.send(
      new DeleteCommand({ TableName: t.tableName, Key: { PK: `USER#${ids.readers[1]}`, SK: 'USER#POSTS' } }),
    );

    const found = await checkCounts();
    expect(found.code).toBe(1);
    const lines = found.output.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `tag postCount of TAG#${ids.tag} TAG: stored 5, GSI5SK 5, actual 1`,
        `category postCount of CATEGORIES CATEGORY#${ids.category}: stored 0, actual 1`,
        `post likeCount of POST#${ids.post} POST: stored 8, actual 2`,
        `post commentCount of POST#${ids.post} POST: stored 9, actual 2`,
        `comment likeCount of ${commentKey.PK} ${commentKey.SK}: stored 3, actual 1`,
        `comment replyCount of ${commentKey.PK} ${commentKey.SK}: stored 0, actual 1`,
        'activeAdmins of STATS#USERS ACTIVE_ADMINS: stored 2, actual 1',
        `user followerCount of USER#${admin.userId} USER#FOLLOWS: stored 9, actual 2`,
        `user followingCount of USER#${ids.readers[0]} USER#FOLLOWS: stored none, actual 2`,
        `month publishedCount of FEED#MONTHS ${month}: stored 3, actual 1`,
        `user publishedCount of USER#${admin.userId} USER#POSTS: stored 4, actual 1`,
        `user likedCount of USER#${ids.readers[1]} USER#POSTS: stored none, actual 1`,
        '12 counter(s) drifted; run with --fix to repair.',
      ]),
    );
    for (const counter of ['tag postCount', 'category postCount', 'post likeCount', 'post commentCount'])
      expect(found.output).toContain(`${counter}: 1 checked, 1 drifted`);

    const fixed = await checkCounts('--fix');
    expect(fixed.output).toContain('Fixed 12 counter(s).');
    expect(fixed.code).toBe(0);
    expect(await t.getItem(`TAG#${ids.tag}`, 'TAG')).toMatchObject({ postCount: 1, GSI5SK: 1 });
    // A like shard holds one of the 2 likes: COUNTS the other.
    expect(await t.getItem(`POST#${ids.post}`, 'COUNTS')).toMatchObject({ likeCount: 1, commentCount: 2 });
    await t.mailSent(); // the stream folds the like shards into what readers read
    expect((await t.api.get(`/api/v1/posts/${ids.post}`).expect(200)).body).toMatchObject({
      likeCount: 2,
      commentCount: 2,
    });
    expect(await t.getItem(commentKey.PK, commentKey.SK)).toMatchObject({ likeCount: 1, replyCount: 1 });
    expect(await t.getItem('STATS#USERS', 'ACTIVE_ADMINS')).toMatchObject({ activeAdmins: 1 });
    expect(await t.getItem(`USER#${admin.userId}`, 'USER#FOLLOWS')).toMatchObject({ followerCount: 2 });
    expect(await t.getItem(`USER#${ids.readers[0]}`, 'USER#FOLLOWS')).toMatchObject({
      entity: 'FollowCounts',
      followingCount: 2,
    });
    const profile = await t.api.get(`/api/v1/users/${ids.readers[0]}`).expect(200);
    expect(profile.body).toMatchObject({ followingCount: 2 });
    expect(await t.getItem('FEED#MONTHS', month)).toMatchObject({ publishedCount: 1 });
    expect(await t.getItem(`USER#${admin.userId}`, 'USER#POSTS')).toMatchObject({ publishedCount: 1 });
    expect(await t.getItem(`USER#${ids.readers[1]}`, 'USER#POSTS')).toMatchObject({
      entity: 'UserPostCounts',
      likedCount: 1,
    });
    const reader = (await t.getItem(`USER#${ids.readers[1]}`, 'USER'))!;
    const favorited = await t.api.get(`/api/articles?favorited=${String(reader.username)}`).expect(200);
    expect(favorited.body).toMatchObject({ articlesCount: 1 });

    const after = await checkCounts();
    expect(after.output).toContain('Every counter matches its recount.');
    expect(after.code).toBe(0);
  });

  it('reports a tag whose index copy (GSI5SK) alone drifted, which misorders tags by use', async () => {
    await corrupt({ PK: `TAG#${ids.tag}`, SK: 'TAG' }, { GSI5SK: 40 });
    const found = await checkCounts();
    expect(found.code).toBe(1);
    expect(found.output).toContain(`tag postCount of TAG#${ids.tag} TAG: stored 1, GSI5SK 40, actual 1`);
    expect((await checkCounts('--fix')).code).toBe(0);
    expect(await t.getItem(`TAG#${ids.tag}`, 'TAG')).toMatchObject({ postCount: 1, GSI5SK: 1 });
  });

  it("checks the personal feed's day counts (a reader's timeline entries, an author's posts) and --fix repairs them", async () => {
    // A post the two readers' timelines get (they follow the admin), counted on their FEED#DAYS;
    // the processor, run here for the first time, fans the first post out to them too.
    const post = await t.api
      .post('/api/v1/posts')
      .set('authorization', admin.bearer)
      .send({ title: 'Fanned out', content: 'x' })
      .expect(201);
    const published = await t.api
      .post(`/api/v1/posts/${post.body.id}/publish`)
      .set('authorization', admin.bearer)
      .send({})
      .expect(200);
    await t.mailSent(); // the fan-out
    const day = dayAttribute((published.body as { publishedAt: string }).publishedAt);
    const exact = await checkCounts();
    expect(exact.output).toContain('reader feed day: 2 checked, 0 drifted');
    expect(exact.output).toContain('author published day: 1 checked, 0 drifted');
    expect(exact.code).toBe(0);

    await corrupt({ PK: `USER#${ids.readers[0]}`, SK: 'FEED#DAYS' }, { [day]: 5 });
    await t.db.send(
      new DeleteCommand({ TableName: t.tableName, Key: { PK: `USER#${ids.readers[1]}`, SK: 'FEED#DAYS' } }),
    );
    await corrupt({ PK: `USER#${admin.userId}`, SK: 'USER#POSTS' }, { [day]: 9 });
    const found = await checkCounts();
    expect(found.code).toBe(1);
    expect(found.output.split('\n')).toEqual(
      expect.arrayContaining([
        `reader feed day of USER#${ids.readers[0]} FEED#DAYS: stored 5, actual 2`,
        `reader feed day of USER#${ids.readers[1]} FEED#DAYS: stored none, actual 2`,
        `author published day of USER#${admin.userId} USER#POSTS: stored 9, actual 2`,
        '3 counter(s) drifted; run with --fix to repair.',
      ]),
    );
    expect((await checkCounts('--fix')).code).toBe(0);
    expect(await t.getItem(`USER#${ids.readers[1]}`, 'FEED#DAYS')).toMatchObject({ entity: 'FeedDays', [day]: 2 });
    expect(await t.getItem(`USER#${admin.userId}`, 'USER#POSTS')).toMatchObject({ [day]: 2 });
    for (const bearer of ids.bearers) {
      const feed = await t.api.get('/api/articles/feed').set('authorization', bearer).expect(200);
      expect(feed.body).toMatchObject({ articlesCount: 2 });
      expect((feed.body as { articles: { title: string }[] }).articles.map((a) => a.title)).toEqual([
        'Fanned out',
        'Counted post',
      ]);
    }
  });

  it('reports the timeline entries the feed never shows (an unfollowed or fan-in author), counts them not, and --fix deletes them', async () => {
    const [first, second] = ids.readers as [string, string];
    // As the code before the feed's day counts left them (and 0009 counted them): an entry of the
    // first reader's post in the second's timeline, whom they never followed back (an unfollow
    // leaves the same), counted on its day; and the first reader merging the admin in as fan-in
    // (a promotion that left the two entries it had fanned out before).
    const publishedAt = String((await t.getItem(`POST#${ids.post}`, 'POST'))!.publishedAt);
    const day = dayAttribute(publishedAt);
    const unfollowed = Keys.timelineEntry(second, publishedAt, 'unfollowedpost01');
    await t.db.send(
      new PutCommand({
        TableName: t.tableName,
        Item: {
          ...unfollowed,
          entity: 'TimelineEntry',
          postId: 'unfollowedpost01',
          authorId: first,
          ttl: timelineEntryTtl(publishedAt),
        },
      }),
    );
    await corrupt({ PK: `USER#${second}`, SK: 'FEED#DAYS' }, { [day]: 3 });
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: Keys.followCounts(first),
        UpdateExpression: 'ADD fanInAuthors :admin',
        ExpressionAttributeValues: { ':admin': new Set([admin.userId]) },
      }),
    );
    const fanInEntries = (await t.allItems())
      .filter((item) => item.PK === Keys.timelinePartition(first) && item.authorId === admin.userId)
      .map((item) => String(item.SK));
    expect(fanInEntries).toHaveLength(2);
    // Counted twice before: the first reader's timeline days and the admin's own.
    const before = await t.api.get('/api/articles/feed').set('authorization', ids.bearers[0]).expect(200);
    expect(before.body).toMatchObject({ articlesCount: 4 });

    const found = await checkCounts();
    expect(found.code).toBe(1);
    expect(found.output.split('\n')).toEqual(
      expect.arrayContaining([
        `hidden timeline entry ${unfollowed.PK} ${unfollowed.SK}: author ${first} not followed, not counted`,
        ...fanInEntries.map(
          (sk) => `hidden timeline entry TIMELINE#${first} ${sk}: author ${admin.userId} fan-in, not counted`,
        ),
        `reader feed day of USER#${first} FEED#DAYS: stored 2, actual 0`,
        `reader feed day of USER#${second} FEED#DAYS: stored 3, actual 2`,
        'hidden timeline entries: 3 found; run with --fix to delete them',
      ]),
    );

    const fixed = await checkCounts('--fix');
    expect(fixed.output).toContain('hidden timeline entries: 3 found, 3 deleted');
    expect(fixed.code).toBe(0);
    expect(await t.getItem(unfollowed.PK, unfollowed.SK)).toBeUndefined();
    for (const sk of fanInEntries) expect(await t.getItem(Keys.timelinePartition(first), sk)).toBeUndefined();
    // Each feed's count is what it shows: the admin's two posts (merged in as fan-in for the first).
    for (const bearer of ids.bearers) {
      const feed = await t.api.get('/api/articles/feed').set('authorization', bearer).expect(200);
      expect(feed.body).toMatchObject({ articlesCount: 2 });
      expect((feed.body as { articles: { title: string }[] }).articles.map((a) => a.title)).toEqual([
        'Fanned out',
        'Counted post',
      ]);
    }
    const after = await checkCounts();
    expect(after.output).toContain('hidden timeline entries: 0 found');
    expect(after.code).toBe(0);
  });

  it('does not count an entry that names no author (never shown), and says the counters match but an entry is left', async () => {
    const second = ids.readers[1];
    const publishedAt = String((await t.getItem(`POST#${ids.post}`, 'POST'))!.publishedAt);
    const entry = Keys.timelineEntry(second, publishedAt, 'noauthorpost0001');
    // Not counted on the reader's FEED#DAYS either: the counters all match their recounts.
    await t.db.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { ...entry, entity: 'TimelineEntry', postId: 'noauthorpost0001', ttl: timelineEntryTtl(publishedAt) },
      }),
    );
    const found = await checkCounts();
    const lines = found.output.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `hidden timeline entry ${entry.PK} ${entry.SK}: no author, not counted`,
        'hidden timeline entries: 1 found; run with --fix to delete them',
        'Every counter matches its recount; 1 hidden timeline entry left (run with --fix to delete them).',
      ]),
    );
    expect(lines).not.toContain('Every counter matches its recount.');
    expect(lines.filter((line) => line.startsWith('reader feed day of'))).toEqual([]);
    expect(found.code).toBe(1);

    const fixed = await checkCounts('--fix');
    expect(fixed.output.split('\n')).toEqual(
      expect.arrayContaining(['hidden timeline entries: 1 found, 1 deleted', 'Every counter matches its recount.']),
    );
    expect(fixed.code).toBe(0);
    expect(await t.getItem(entry.PK, entry.SK)).toBeUndefined();
  });

  it('reports the categories a parent loop written before session 21 hides from the tree, and --fix moves one of each loop to the top', async () => {
    const create = async (name: string) =>
      (await t.api.post('/api/v1/categories').set('authorization', admin.bearer).send({ name }).expect(201)).body as {
        id: string;
        slug: string;
      };
    const [a, b, c] = [await create('Loop A'), await create('Loop B'), await create('Below the loop')];
    // The legacy state: A under B, B under A (two moves that both passed on one read), C under A.
    const setParent = (id: string, parentId: string, updatedAt: string) =>
      t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { PK: 'CATEGORIES', SK: `CATEGORY#${id}` },
          UpdateExpression: 'SET parentId = :p, updatedAt = :u',
          ExpressionAttributeValues: { ':p': parentId, ':u': updatedAt },
        }),
      );
    await setParent(a.id, b.id, '2026-01-01T00:00:00.000Z');
    await setParent(b.id, a.id, '2026-01-02T00:00:00.000Z'); // the move that closed the loop: the one undone
    await setParent(c.id, a.id, '2026-01-01T00:00:00.000Z');
    const listed = async () => {
      const ids: string[] = [];
      const walk = (node: { id: string; children: never[] }) => {
        ids.push(node.id);
        node.children.forEach(walk);
      };
      ((await t.api.get('/api/v1/categories').expect(200)).body.items as never[]).forEach(walk);
      return ids;
    };
    expect(await listed()).not.toEqual(expect.arrayContaining([a.id]));
    const treeVersion = Number((await t.getItem('CATEGORIES', 'TREE'))?.version ?? 0);

    const found = await checkCounts();
    const named = (x: { id: string; slug: string }) => `${x.slug} (${x.id})`;
    expect(found.output.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^category cycle .*: unreachable from the roots; --fix moves /),
        `category ${named(c)}: below a cycle, unreachable from the roots`,
        'category cycles: 1 found; run with --fix to break them (1 category below them)',
      ]),
    );
    expect(found.output).toContain(`--fix moves ${named(b)} to the top`);
    expect(found.code).toBe(1);
    expect(await listed()).not.toEqual(expect.arrayContaining([a.id]));

    const fixed = await checkCounts('--fix');
    expect(fixed.output).toContain(`; ${named(b)} moved to the top`);
    expect(fixed.output.split('\n')).toContain('category cycles: 1 found, 1 broken (1 category below them)');
    expect(fixed.code).toBe(0);
    expect(await listed()).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
    expect((await t.getItem('CATEGORIES', `CATEGORY#${b.id}`))?.parentId).toBeUndefined();
    expect((await t.getItem('CATEGORIES', 'TREE'))?.version).toBe(treeVersion + 1);

    const after = await checkCounts();
    expect(after.output.split('\n')).toContain('category cycles: 0 found (0 categories below them)');
    expect(after.code).toBe(0);
  });
});
