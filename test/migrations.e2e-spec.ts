import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DeleteItemCommand, GetItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { deferredPublicationId } from '../src/events/deferred-publication.js';
import { checkCounts } from '../src/admin-tools/count-check.js';
import { parentCommentKey } from '../src/comments/comment-keys.js';
import { Keys } from '../src/dynamo/keys.js';
import { EventsRepository } from '../src/events/events.repository.js';
import { WebhookDispatcher, webhookTarget } from '../src/events/webhook-dispatcher.js';
import { shardOf } from '../src/dynamo/sharding.js';
import { toFollowCountsItem, toFollowItem } from '../src/follows/follow-items.js';
import { feedDayCounts } from '../src/migrations/0009-feed-day-counts.js';
import { plainLegacyText } from '../src/migrations/0014-plain-legacy-text.js';
import { hasUnsafeCharacters, plainTextOf } from '../src/common/validation/identifiers.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import type { ItemUpdate } from '../src/migrations/migration.js';
import { itemSizeBytes } from '../src/dynamo/item-size.js';
import { dayAttribute, timelineEntryTtl } from '../src/posts/feed-days.js';
import { toPostSummaryItem } from '../src/posts/posts.repository.js';
import { MigrationInterrupted, runMigrations } from '../src/migrations/runner.js';
import { checkMigrationsAtStart } from '../src/migrations/startup-check.js';
import { MigrationsPendingError, migrationStatuses, readMigrationState } from '../src/migrations/state.js';
import { commandEnv } from './helpers/built-scripts.js';
import { processStream } from './helpers/stream.js';
import { exportedLines, importFixture, scratchDir, silent } from './helpers/data-files.js';
import { toOldLayout, writeOldLayoutEvents, writeOldLayoutItems } from './helpers/old-layout.js';
import { ADMIN_ENV, createTestApp, dynamoCost, signInAdmin, signUp, type TestApp } from './helpers/test-app.js';

/** Tokens and idempotency records without their GSI3 keys (what migration 0001 fixes). */
async function unindexedOwnedItems(t: TestApp): Promise<number> {
  const { Count } = await t.client.send(
    new ScanCommand({
      TableName: t.tableName,
      Select: 'COUNT',
      FilterExpression: 'entity IN (:a, :b) AND attribute_not_exists(GSI3PK)',
      ExpressionAttributeValues: { ':a': { S: 'ActionToken' }, ':b': { S: 'Idempotency' } },
      ConsistentRead: true,
    }),
  );
  return Count ?? 0;
}

/** Deletes a migration's record and runs the migrations again: that one runs over the whole table. */
async function rerunFromScratch(t: TestApp, version: number) {
  const recordKey = Keys.migration(version);
  await t.client.send(
    new DeleteItemCommand({ TableName: t.tableName, Key: { PK: { S: recordKey.PK }, SK: { S: recordKey.SK } } }),
  );
  return runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS, progress: silent });
}

describe('db:migrate (e2e)', () => {
  const dir = scratchDir();

  /** An app whose table holds the seed fixture (layout 0, before any migration). */
  async function fixtureApp(): Promise<TestApp> {
    const t = await createTestApp();
    await importFixture({ client: t.client, tableName: t.tableName });
    return t;
  }

  it('the stream worker (`npm run worker`) refuses to start while a migration is pending, as the API does (review 11, M2)', async () => {
    const old = await fixtureApp();
    try {
      const worker = spawn(process.execPath, [join(process.cwd(), 'dist', 'stream', 'worker.main.js')], {
        env: {
          // DYNAMODB_CREATE_TABLE=false, as in production: the worker checks the table, never creates
          // it. With creation allowed it would wait 15 s on this young table for a creator's baseline.
          ...commandEnv(old.config.dynamo.endpoint, old.tableName),
          STREAM_WORKER_METRICS_PORT: '0',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // A worker that started would poll until stopped: bounded, then killed (and the test fails).
      const timer = setTimeout(() => worker.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => worker.on('exit', (exitCode) => resolve(exitCode)));
      clearTimeout(timer);
      expect({ code, output }).toEqual({
        code: 1,
        output: expect.stringMatching(/0006-shard-listing-partitions.*npm run db:migrate/s),
      });
    } finally {
      await old.close();
    }
  });

  it('the Lambda stream handler refuses to handle a batch while a migration is pending, as the worker does', async () => {
    const old = await fixtureApp();
    try {
      // The built entry point in a process of its own (its context is built once per process),
      // invoked as Lambda would, with an empty batch: without the check it answers no failure.
      const invoke = [
        `const { handler } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'stream', 'lambda.js'))});`,
        'try { console.log(JSON.stringify(await handler({ Records: [] }))); }',
        'catch (error) { console.log(`${error.name}: ${error.message}`); process.exitCode = 1; }',
      ].join('\n');
      const lambda = spawn(process.execPath, ['--input-type=module', '-e', invoke], {
        env: { ...commandEnv(old.config.dynamo.endpoint, old.tableName), NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      lambda.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      lambda.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => lambda.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => lambda.on('exit', (exitCode) => resolve(exitCode)));
      clearTimeout(timer);
      expect({ code, output }).toEqual({
        code: 1,
        output: expect.stringMatching(/MigrationsPendingError: .*0006-shard-listing-partitions.*npm run db:migrate/s),
      });
    } finally {
      await old.close();
    }
  });

  it('a new table needs no migration; a table in the old layout is refused at start-up, naming the migration', async () => {
    const fresh = await createTestApp();
    try {
      const state = await readMigrationState(fresh.client, fresh.tableName);
      expect(migrationStatuses(MIGRATIONS, state).map((s) => s.state)).toEqual(MIGRATIONS.map(() => 'baseline'));
      await checkMigrationsAtStart(fresh.config, { warn: () => undefined });
    } finally {
      await fresh.close();
    }

    const old = await fixtureApp();
    try {
      const warnings: string[] = [];
      const logger = { warn: (line: string) => void warnings.push(line) };
      const refusal = checkMigrationsAtStart(old.config, logger);
      await expect(refusal).rejects.toBeInstanceOf(MigrationsPendingError);
      await expect(refusal).rejects.toThrow(/0001-index-user-owned-items \(online\).*npm run db:migrate/);
      const online = { ...old.config, migrations: { allowOnlinePending: true } };
      // 0004 to 0012 are offline: even then the app refuses, naming them.
      await expect(checkMigrationsAtStart(online, { warn: () => undefined })).rejects.toThrow(
        /0003-post-link-summaries \(online\), 0004-comment-pointer-index, 0005-published-post-counters, 0006-shard-listing-partitions, 0007-like-places, 0008-like-shards, 0009-feed-day-counts, 0010-comment-pointer-partitions, 0011-shard-moderation-queue, 0012-feed-days-for-every-user, 0013-webhook-due-partitions \(online\), 0014-plain-legacy-text \(online\), 0015-held-back-publications \(online\)\./,
      );
      await checkMigrationsAtStart(
        online,
        logger,
        MIGRATIONS.filter((m) => m.online),
      );
      expect(warnings).toEqual([
        'Migration 0001-index-user-owned-items is pending; serving while it runs (it is online).',
        'Migration 0002-backfill-reply-counts is pending; serving while it runs (it is online).',
        'Migration 0003-post-link-summaries is pending; serving while it runs (it is online).',
        'Migration 0013-webhook-due-partitions is pending; serving while it runs (it is online).',
        'Migration 0014-plain-legacy-text is pending; serving while it runs (it is online).',
        'Migration 0015-held-back-publications is pending; serving while it runs (it is online).',
      ]);
      // An offline migration is never skipped.
      const offline = MIGRATIONS.map((m) => ({ ...m, online: false }));
      await expect(checkMigrationsAtStart(online, logger, offline)).rejects.toBeInstanceOf(MigrationsPendingError);
    } finally {
      await old.close();
    }
  });

  it('--dry-run lists the changes and writes nothing', async () => {
    const t = await fixtureApp();
    try {
      const author = (await t.queryPartition('UNIQUE#EMAIL#author@demo.example'))[0];
      const oldItems = await writeOldLayoutItems(t.client, t.tableName, [author.userId as string], 3);
      const before = await exportedLines(t.client, t.tableName, dir);
      const lines: string[] = [];
      const [run] = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        dryRun: true,
        log: (line) => lines.push(line),
        progress: silent,
      });
      expect(run.changed).toBe(oldItems);
      const summary = lines.findIndex((l) => l.startsWith('0001-index-user-owned-items: '));
      expect(lines.slice(0, summary).filter((l) => l.startsWith('  would change '))).toHaveLength(oldItems);
      expect(lines[summary]).toMatch(/^0001-index-user-owned-items: \d+ items read, 6 would change\.$/);
      expect(await exportedLines(t.client, t.tableName, dir)).toEqual(before);
    } finally {
      await t.close();
    }
  });

  it('runs page by page while the app serves correct reads, continues from its checkpoint, and is idempotent', async () => {
    const t = await fixtureApp();
    try {
      // Old-layout tokens made through the API: the verification mails of new accounts.
      const users = await Promise.all([signUp(t), signUp(t), signUp(t)]);
      await t.mailSent();
      for (const user of users) {
        const [token] = (await t.allItems()).filter((i) => i.entity === 'ActionToken' && i.userId === user.userId);
        await toOldLayout(t.db, t.tableName, token);
      }
      const author = (await t.queryPartition('UNIQUE#EMAIL#author@demo.example'))[0];
      await writeOldLayoutItems(t.client, t.tableName, [author.userId as string], 10);
      expect(await unindexedOwnedItems(t)).toBe(23);
      const feedBefore = (await t.api.get('/api/v1/posts').expect(200)).body;

      // Stop after the first page, as a kill between pages would.
      const stop = new AbortController();
      stop.abort();
      await expect(
        runMigrations({
          client: t.client,
          tableName: t.tableName,
          migrations: MIGRATIONS,
          pageSize: 20,
          signal: stop.signal,
          progress: silent,
        }),
      ).rejects.toBeInstanceOf(MigrationInterrupted);
      const [midway] = (await readMigrationState(t.client, t.tableName)).records;
      expect(midway).toMatchObject({ status: 'running', scanned: 20 });
      // Scan order follows the hashed keys, so the first page may or may not hold the token used below.
      expect(midway.changed + (await unindexedOwnedItems(t))).toBe(23);

      // Reads during the migration answer as before: the feed, a sign-in, and a verification
      // link whose token is in the old layout.
      expect((await t.api.get('/api/v1/posts').expect(200)).body).toEqual(feedBefore);
      await t.api
        .post('/api/v1/auth/login')
        .send({ email: 'reader@demo.example', password: 'demo-reader-pass' })
        .expect(200);
      const link = t.mailer.tokenFor(users[0].email, 'email_verification')!;
      await t.api.post('/api/v1/auth/verify-email/confirm').send({ token: link }).expect(204);
      const pendingAfterReads = await unindexedOwnedItems(t);

      const [resumed] = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        pageSize: 20,
        progress: silent,
      });
      expect(resumed.resumed).toBe(true);
      expect(await unindexedOwnedItems(t)).toBe(0);
      const [record] = (await readMigrationState(t.client, t.tableName)).records;
      expect(record).toMatchObject({ status: 'applied', finishedAt: expect.any(String) });
      const { Count: total } = await t.client.send(new ScanCommand({ TableName: t.tableName, Select: 'COUNT' }));
      expect(record.scanned).toBeLessThan(total! + 20); // continued, not started over
      // Every item still pending after the reads, and nothing else (a consumed token is gone).
      expect(record.changed).toBe(midway.changed + pendingAfterReads);
      expect(record.changed).toBeGreaterThanOrEqual(22);
      await checkMigrationsAtStart(t.config, { warn: () => undefined });

      // Again: nothing pending. And its changes run again over migrated data change nothing.
      expect(await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS })).toEqual([]);
      const after = await exportedLines(t.client, t.tableName, dir);
      const [again] = await rerunFromScratch(t, 1);
      expect(again.changed).toBe(0);
      const strip = (lines: string[]) => lines.filter((l) => !l.includes('"VERSION#0001"'));
      expect(strip(await exportedLines(t.client, t.tableName, dir))).toEqual(strip(after));
    } finally {
      await t.close();
    }
  });
  it('0002 sets replyCount on comments made before it existed, counting replies made since too, once', async () => {
    const t = await fixtureApp();
    try {
      const comments = async () => (await t.allItems()).filter((i) => i.entity === 'Comment');
      const recount = (items: Record<string, unknown>[]) => {
        const counts = new Map<string, number>();
        for (const item of items) {
          const parent = parentCommentKey(String(item.SK));
          if (parent) counts.set(`${String(item.PK)} ${parent}`, (counts.get(`${String(item.PK)} ${parent}`) ?? 0) + 1);
        }
        return counts;
      };
      const legacy = await comments();
      const legacyCounts = recount(legacy);
      expect(legacyCounts.size).toBeGreaterThan(0); // the fixture has replies
      expect(legacy.filter((c) => c.replyCount !== undefined)).toEqual([]); // made before replyCount

      // A reply made through today's API to a legacy comment with replies: its ADD counts only itself.
      const [parentKey, legacyReplies] = [...legacyCounts][0];
      const parent = legacy.find((c) => `${String(c.PK)} ${String(c.SK)}` === parentKey)!;
      const reader = (
        await t.api.post('/api/v1/auth/login').send({ email: 'reader@demo.example', password: 'demo-reader-pass' })
      ).body as { accessToken: string };
      // This version finds the parent by id through its pointer's own partition, where 0010 (offline:
      // run before the app starts) moves it; here the reply comes first, so the pointer is moved by hand.
      const oldPointer = Keys.postPartition(String(parent.postId));
      const pointer = (await t.queryPartition(oldPointer)).find((item) => item.SK === `CMTID#${String(parent.id)}`)!;
      await t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: { ...pointer, ...Keys.commentPointer(String(parent.postId), String(parent.id)) },
        }),
      );
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: { PK: pointer.PK, SK: pointer.SK } }));
      await t.api
        .post(`/api/v1/posts/${String(parent.postId)}/comments`)
        .set('authorization', `Bearer ${reader.accessToken}`)
        .send({ content: 'A reply after the upgrade', parentId: parent.id })
        .expect(201);
      expect((await t.getItem(String(parent.PK), String(parent.SK)))!.replyCount).toBe(1);

      const runs = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        progress: silent,
      });
      expect(runs.map((r) => r.label)).toEqual([
        '0001-index-user-owned-items',
        '0002-backfill-reply-counts',
        '0003-post-link-summaries',
        '0004-comment-pointer-index',
        '0005-published-post-counters',
        '0006-shard-listing-partitions',
        '0007-like-places',
        '0008-like-shards',
        '0009-feed-day-counts',
        '0010-comment-pointer-partitions',
        '0011-shard-moderation-queue',
        '0012-feed-days-for-every-user',
        '0013-webhook-due-partitions',
        '0014-plain-legacy-text',
        '0015-held-back-publications',
      ]);
      expect(runs[1].changed).toBe(legacyCounts.size);

      const after = await comments();
      const counts = recount(after);
      expect(counts.get(parentKey)).toBe(legacyReplies + 1);
      for (const comment of after) {
        expect({ key: `${String(comment.PK)} ${String(comment.SK)}`, replyCount: comment.replyCount ?? 0 }).toEqual({
          key: `${String(comment.PK)} ${String(comment.SK)}`,
          replyCount: counts.get(`${String(comment.PK)} ${String(comment.SK)}`) ?? 0,
        });
      }

      // Run again from scratch (its record deleted): every count is right, so nothing changes.
      const [again] = await rerunFromScratch(t, 2);
      expect(again).toMatchObject({ label: '0002-backfill-reply-counts', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it('0003 copies the post summary onto the tag and category links, so a feed page is one Query, once', async () => {
    const t = await fixtureApp();
    try {
      const links = async () => (await t.allItems()).filter((i) => i.entity === 'PostLink');
      const legacy = await links();
      expect(legacy.length).toBeGreaterThan(0); // the fixture's published posts have tags
      expect(legacy.filter((link) => link.summary !== undefined)).toEqual([]);
      const tagLink = legacy.find((link) => String(link.PK).startsWith(Keys.tagPartition('')))!;
      const tag = await t.getItem(String(tagLink.PK), Keys.tag('').SK);
      const feed = `/api/v1/posts?tag=${String(tag!.slug)}&limit=100`;
      const before = await t.api.get(feed).expect(200);
      expect(before.body.items.length).toBeGreaterThan(0);
      expect(dynamoCost(before).calls).toBe(3); // slug, links, the summaries' BatchGetItem

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.find((run) => run.label === '0003-post-link-summaries')).toMatchObject({ changed: legacy.length });
      expect((await links()).filter((link) => link.summary === undefined)).toEqual([]);
      const after = await t.api.get(feed).expect(200);
      expect(dynamoCost(after).calls).toBe(1); // the slug is remembered; the links carry the summaries
      expect(after.body.items).toEqual(before.body.items);

      const [again] = await rerunFromScratch(t, 3);
      expect(again).toMatchObject({ label: '0003-post-link-summaries', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it("0004 lists every comment under its author on GSI6 of the pointers and takes the comments' GSI2/GSI3 keys off", async () => {
    const t = await fixtureApp();
    try {
      const items = async () => await t.allItems();
      const legacy = (await items()).filter((i) => i.entity === 'Comment' && !i.deleted && i.authorId);
      expect(legacy.length).toBeGreaterThan(0);
      expect(legacy.filter((c) => c.GSI3PK === undefined)).toEqual([]); // the old layout indexed them on GSI3
      const author = String(legacy[0].authorId);
      const mine = legacy.filter((c) => c.authorId === author);

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.map((run) => run.label)).toContain('0004-comment-pointer-index');
      const after = await items();
      expect(after.filter((i) => i.entity === 'Comment' && (i.GSI2PK ?? i.GSI3PK) !== undefined)).toEqual([]);
      const pointers = after.filter((i) => i.entity === 'CommentPointer' && i.GSI6PK === `COMMENTER#${author}`);
      // (0010 then moved each pointer to `CMTID#<postId>#<commentId>`.)
      expect(pointers.map((p) => String(p.PK).split('#').at(-1)).sort()).toEqual(mine.map((c) => String(c.id)).sort());
      // The author's public listing now comes from GSI6.
      const approved = mine.filter((c) => c.status === 'approved');
      const listing = await t.api.get(`/api/v1/users/${author}/comments?limit=100`).expect(200);
      expect(listing.body.items.map((c: { id: string }) => c.id).sort()).toEqual(
        approved.map((c) => String(c.id)).sort(),
      );

      const [again] = await rerunFromScratch(t, 4);
      expect(again).toMatchObject({ label: '0004-comment-pointer-index', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it('0005 sets the published-post counters behind Conduit articlesCount (months, authors, likers), once', async () => {
    const t = await fixtureApp();
    try {
      const counters = ['month publishedCount', 'user publishedCount', 'user likedCount'];
      const drift = async () =>
        (await checkCounts({ client: t.client, tableName: t.tableName })).drift.filter((d) =>
          counters.includes(d.counter),
        );
      const legacy = await drift();
      // The fixture has published posts and likes, and no counter of them.
      expect(legacy.map((d) => d.counter).sort()).toEqual(expect.arrayContaining(counters));
      expect(legacy.every((d) => d.stored === undefined)).toBe(true);

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.find((run) => run.label === '0005-published-post-counters')?.changed).toBeGreaterThan(0);
      expect(await drift()).toEqual([]);
      // Conduit's count is the live posts: the fixture's scheduled post is counted by the month's
      // and author's counters and taken off on read until its time comes.
      const now = new Date().toISOString();
      const published = (await t.allItems()).filter((i) => i.entity === 'Post' && i.status === 'published');
      const live = published.filter((post) => String(post.publishedAt) <= now);
      expect(live.length).toBeLessThan(published.length);
      const all = await t.api.get('/api/articles?limit=100').expect(200);
      expect(all.body.articlesCount).toBe(live.length);
      expect(all.body.articles).toHaveLength(live.length);
      const author = String(live[0].authorUsername);
      const byAuthor = await t.api.get(`/api/articles?limit=100&author=${author}`).expect(200);
      expect(byAuthor.body.articlesCount).toBe(live.filter((p) => p.authorUsername === author).length);
      expect(byAuthor.body.articles).toHaveLength(byAuthor.body.articlesCount);

      const [again] = await rerunFromScratch(t, 5);
      expect(again).toMatchObject({ label: '0005-published-post-counters', changed: 0 });
    } finally {
      await t.close();
    }
  });
  it("0007 places the likes of a table written before: a withdrawn post's likes hidden and uncounted, a scheduled post's at its time, once", async () => {
    // The fixture at the current layout, so that the rerun below changes only what this test wrote.
    const t = await fixtureApp();
    try {
      await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS, progress: silent });
      const [author, fan] = [await signUp(t), await signUp(t)];
      const posts: string[] = [];
      for (let i = 0; i < 3; i++) {
        const post = await t.api
          .post('/api/v1/posts')
          .set('authorization', author.bearer)
          .send({ title: `Liked before 0007 ${i}`, content: 'x' })
          .expect(201);
        const id = (post.body as { id: string }).id;
        await t.api.post(`/api/v1/posts/${id}/publish`).set('authorization', author.bearer).send({}).expect(200);
        await t.api.put(`/api/v1/posts/${id}/like`).set('authorization', fan.bearer).expect(200);
        posts.push(id);
      }
      // As the code before 0007 left them (the stream processor does not run here): the likes of
      // a post withdrawn (1) and of one withdrawn then scheduled an hour ahead (2) sit at their
      // like time and are counted.
      const at = new Date(Date.now() + 3_600_000).toISOString();
      for (const id of posts.slice(1)) {
        await t.api.post(`/api/v1/posts/${id}/unpublish`).set('authorization', author.bearer).expect(200);
      }
      await t.api
        .post(`/api/v1/posts/${posts[2]}/publish`)
        .set('authorization', author.bearer)
        .send({ publishAt: at })
        .expect(200);
      const like = async (id: string) => t.getItem(Keys.like(id, fan.userId).PK, Keys.like(id, fan.userId).SK);
      const likedCount = async () =>
        (await t.getItem(Keys.userPostCounts(fan.userId).PK, Keys.userPostCounts(fan.userId).SK))?.likedCount;
      const likedAt = await Promise.all(posts.map(async (id) => String((await like(id))?.likedAt)));
      expect((await Promise.all(posts.map(like))).map((item) => item?.GSI2SK)).toEqual(
        posts.map((id, i) => `${likedAt[i]}#${id}`),
      );
      expect(await likedCount()).toBe(3);

      const [run] = await rerunFromScratch(t, 7);
      // The two likes moved and the fan's count.
      expect(run).toMatchObject({ label: '0007-like-places', changed: 3 });
      expect((await Promise.all(posts.map(like))).map((item) => item?.GSI2SK)).toEqual([
        `${likedAt[0]}#${posts[0]}`,
        `~#${likedAt[1]}#${posts[1]}`,
        `${at}#${posts[2]}`,
      ]);
      expect(await likedCount()).toBe(2);
      expect((await checkCounts({ client: t.client, tableName: t.tableName })).drift).toEqual([]);
      // The list and its count: the live post only, until the scheduled one's time.
      const mine = await t.api.get('/api/v1/users/me/likes').set('authorization', fan.bearer).expect(200);
      expect((mine.body as { items: { id: string }[] }).items.map((post) => post.id)).toEqual([posts[0]]);

      const [again] = await rerunFromScratch(t, 7);
      expect(again).toMatchObject({ label: '0007-like-places', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it("0008 moves the likes of a table written before from their post's partition to its like shards, once; counts stay exact", async () => {
    const t = await fixtureApp();
    try {
      const oldLikes = (await t.allItems()).filter(
        (item) => item.entity === 'Like' && String(item.PK).startsWith(Keys.postPartition('')),
      );
      expect(oldLikes.length).toBeGreaterThanOrEqual(5);
      // The like counters (the fixture's feed day counts wait for a later migration).
      const likeDrift = async () =>
        (await checkCounts({ client: t.client, tableName: t.tableName })).drift.filter((d) =>
          ['post likeCount', 'user likedCount'].includes(d.counter),
        );
      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.find((run) => run.label === '0008-like-shards')).toMatchObject({ changed: oldLikes.length });
      const likes = (await t.allItems()).filter((item) => item.entity === 'Like');
      // Every like at its shard's key, with all its attributes (its place in its user's likes too).
      expect(likes.sort((a, b) => (String(a.GSI2SK) < String(b.GSI2SK) ? -1 : 1))).toEqual(
        oldLikes
          .map((like): Record<string, unknown> => ({ ...like, ...Keys.like(String(like.postId), String(like.userId)) }))
          .sort((a, b) => (String(a.GSI2SK) < String(b.GSI2SK) ? -1 : 1)),
      );
      expect(await likeDrift()).toEqual([]);

      // The app finds a moved like: liking again counts nothing, the unlike removes it, once.
      const reader = (
        await t.api.post('/api/v1/auth/login').send({ email: 'reader@demo.example', password: 'demo-reader-pass' })
      ).body as { accessToken: string; user: { id: string } };
      const liked = oldLikes.find((like) => like.userId === reader.user.id)!;
      const postId = String(liked.postId);
      const count = async () => (await t.api.get(`/api/v1/posts/${postId}`).expect(200)).body.likeCount as number;
      const before = await count();
      expect(before).toBeGreaterThanOrEqual(1);
      const bearer = `Bearer ${reader.accessToken}`;
      await t.api.put(`/api/v1/posts/${postId}/like`).set('authorization', bearer).expect(200);
      await t.mailSent();
      expect(await count()).toBe(before);
      const unlike = await t.api.delete(`/api/v1/posts/${postId}/like`).set('authorization', bearer).expect(200);
      expect(unlike.body).toEqual({ liked: false, likeCount: before - 1 });
      await t.mailSent();
      expect(await count()).toBe(before - 1);
      expect(await t.postLikes(postId)).toHaveLength(oldLikes.filter((like) => like.postId === postId).length - 1);
      expect(await likeDrift()).toEqual([]);

      const [again] = await rerunFromScratch(t, 8);
      expect(again).toMatchObject({ label: '0008-like-shards', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it("0010 moves the comment pointers of a table written before out of their post's partition, once; comments stay found by id", async () => {
    const t = await fixtureApp();
    try {
      // The table as the layout before 0010 left it (0004 gave the pointers their GSI6 keys).
      const before = MIGRATIONS.filter((migration) => migration.version < 10);
      await runMigrations({ client: t.client, tableName: t.tableName, migrations: before, progress: silent });
      const oldPointers = (await t.allItems()).filter(
        (item) => item.entity === 'CommentPointer' && String(item.PK).startsWith(Keys.postPartition('')),
      );
      expect(oldPointers.length).toBeGreaterThanOrEqual(5);
      const runs = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        progress: silent,
      });
      expect(runs.find((run) => run.label === '0010-comment-pointer-partitions')).toMatchObject({
        changed: oldPointers.length,
      });
      const idOf = (pointer: Record<string, unknown>) => String(pointer.path).split('#').at(-1)!;
      const postOf = (pointer: Record<string, unknown>) => String(pointer.PK).slice(Keys.postPartition('').length);
      const pointers = (await t.allItems()).filter((item) => item.entity === 'CommentPointer');
      // Every pointer at its own key, with all its attributes (its commenter's GSI6 entry too).
      const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => (String(a.PK) < String(b.PK) ? -1 : 1);
      expect(pointers.sort(byKey)).toEqual(
        oldPointers
          .map((pointer): Record<string, unknown> => ({
            ...pointer,
            ...Keys.commentPointer(postOf(pointer), idOf(pointer)),
          }))
          .sort(byKey),
      );
      // The app finds a moved comment by id (its routes go through the pointer), and a status
      // change moves the moved pointer's GSI6 keys (conditioned on the pointer at its new key).
      const moved = oldPointers.find(
        (pointer) => typeof pointer.GSI6SK === 'string' && pointer.GSI6SK.startsWith('approved#'),
      )!;
      const admin = (
        await t.api.post('/api/v1/auth/login').send({ email: 'admin@demo.example', password: 'demo-admin-pass' })
      ).body as { accessToken: string };
      const moderated = await t.api
        .post(`/api/v1/posts/${postOf(moved)}/comments/${idOf(moved)}/moderate`)
        .set('authorization', `Bearer ${admin.accessToken}`)
        .send({ status: 'rejected' });
      expect(moderated.status).toBe(200);
      expect(moderated.body).toMatchObject({ id: idOf(moved), status: 'rejected' });
      expect(
        await t.getItem(...(Object.values(Keys.commentPointer(postOf(moved), idOf(moved))) as [string, string])),
      ).toMatchObject({ GSI6SK: expect.stringMatching(/^rejected#/) });

      const [again] = await rerunFromScratch(t, 10);
      expect(again).toMatchObject({ label: '0010-comment-pointer-partitions', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it("0011 moves the fixture's pending comments from the one moderation queue partition to their shards, once; the queue lists them all", async () => {
    const t = await fixtureApp();
    try {
      // The table as the layout before 0011 left it: the pending comments on `MODERATION#pending`.
      await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS.filter((migration) => migration.version < 11),
        progress: silent,
      });
      const byQueueOrder = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        String(a.GSI1SK) < String(b.GSI1SK) ? -1 : 1;
      const old = (await t.allItems()).filter((item) => item.GSI1PK === 'MODERATION#pending').sort(byQueueOrder);
      expect(old.length).toBeGreaterThanOrEqual(1);
      const admin = (
        await t.api.post('/api/v1/auth/login').send({ email: 'admin@demo.example', password: 'demo-admin-pass' })
      ).body as { accessToken: string };
      const queue = async () => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const res = await t.api
            .get(`/api/v1/comments/moderation?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
            .set('authorization', `Bearer ${admin.accessToken}`)
            .expect(200);
          ids.push(...(res.body.items as { id: string }[]).map((item) => item.id));
          cursor = res.body.nextCursor ?? undefined;
        } while (cursor);
        return ids;
      };
      // Before it: the queue reads only the shards, so it misses them.
      expect(await queue()).toEqual([]);

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.find((run) => run.label === '0011-shard-moderation-queue')?.changed).toBe(old.length);
      const moved = (await t.allItems()).filter((item) => old.some((o) => o.PK === item.PK && o.SK === item.SK));
      expect(moved.sort(byQueueOrder)).toEqual(
        old.map((item) => ({ ...item, GSI1PK: `MODERATION#pending#${shardOf(String(item.id))}` })),
      );
      // Every pending comment, oldest first, a page of one at a time, as the one partition listed them.
      expect(await queue()).toEqual(old.map((item) => String(item.id)));

      const [again] = await rerunFromScratch(t, 11);
      expect(again).toMatchObject({ label: '0011-shard-moderation-queue', changed: 0 });
    } finally {
      await t.close();
    }
  });

  it('0012 gives every user of a table written before an empty FEED#DAYS and keeps the counted ones, once', async () => {
    const t = await fixtureApp();
    try {
      await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS.filter((migration) => migration.version < 12),
        progress: silent,
      });
      const users = async () => (await t.allItems()).filter((item) => item.entity === 'User');
      const feedDays = async () => (await t.allItems()).filter((item) => item.entity === 'FeedDays');
      const userIds = (await users()).map((user) => String(user.id)).sort();
      expect(userIds.length).toBeGreaterThan(1);
      // One user already counted something (a fan-out before this version made the item): kept as it is.
      const counted = { ...Keys.feedDays(userIds[0]), entity: 'FeedDays', d20261127: 2 };
      await t.db.send(new PutCommand({ TableName: t.tableName, Item: counted }));
      const before = await feedDays();

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.map((run) => run.label)).toEqual([
        '0012-feed-days-for-every-user',
        '0013-webhook-due-partitions',
        '0014-plain-legacy-text',
        '0015-held-back-publications',
      ]);
      expect(runs[0].changed).toBe(userIds.length - before.length);
      const after = await feedDays();
      expect(after.map((item) => String(item.PK).slice('USER#'.length)).sort()).toEqual(userIds);
      expect(after).toContainEqual(counted);
      const made = after.filter((item) => !before.some((old) => old.PK === item.PK));
      expect(made).toHaveLength(runs[0].changed);
      for (const item of made) expect(Object.keys(item).sort()).toEqual(['PK', 'SK', 'entity']);

      const [again] = await rerunFromScratch(t, 12);
      expect(again).toMatchObject({ label: '0012-feed-days-for-every-user', changed: 0 });
      expect(await feedDays()).toEqual(after);
    } finally {
      await t.close();
    }
  });

  it("0013 moves pending webhook deliveries from WEBHOOKS#DUE to their webhook's partition, once; until it is applied the dispatcher also reads the old one", async () => {
    const t = await fixtureApp();
    const calls: string[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls.push(String(req.headers['x-webhook-id']));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const target = webhookTarget(url);
    // This version over the table of the one before (0013 pending), beside an instance of that version.
    await runMigrations({
      client: t.client,
      tableName: t.tableName,
      migrations: MIGRATIONS.filter((migration) => migration.version < 13),
      progress: silent,
    });
    const app = await createTestApp(
      { WEBHOOK_URLS: url, WEBHOOK_SECRET: 'migration-secret-0123456789abcdefghijklmnopqrstuvwxyz' },
      { tableName: t.tableName },
    );
    try {
      const events = app.app.get(EventsRepository);
      /** Pending deliveries as the version before 0013 stored them: in the one partition `WEBHOOKS#DUE`. */
      const recordOld = async (ids: string[]) => {
        for (const id of ids) {
          const at = app.clock.now();
          const event = { id, type: 'user.registered', occurredAt: at.toISOString(), data: {} };
          expect(await events.record(event as never, undefined, [target], at)).toBe('stored');
          await t.db.send(
            new UpdateCommand({
              TableName: t.tableName,
              Key: Keys.webhookDelivery(id, target),
              UpdateExpression: 'SET GSI1PK = :old',
              ExpressionAttributeValues: { ':old': 'WEBHOOKS#DUE' },
            }),
          );
        }
      };
      const pending = async () =>
        (await t.allItems()).filter((item) => item.entity === 'WebhookDelivery' && item.state === 'pending');
      // Written by an instance of the version before during a rolling deploy: this one's dispatcher sends it.
      await recordOld(['rolling-1']);
      expect(await app.app.get(WebhookDispatcher).dispatchDue()).toBe(1);
      expect(calls).toEqual(['rolling-1']);

      await recordOld(['old-1', 'old-2', 'old-3']);
      const old = (await pending()).sort((a, b) => (String(a.PK) < String(b.PK) ? -1 : 1));
      expect(old.map((item) => item.GSI1PK)).toEqual(['WEBHOOKS#DUE', 'WEBHOOKS#DUE', 'WEBHOOKS#DUE']);
      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.map((run) => [run.label, run.changed])).toEqual([
        ['0013-webhook-due-partitions', 3],
        ['0014-plain-legacy-text', 0],
        // The fixture's post scheduled for 2026-12-02, while that is ahead (and no delivery's webhook is unknown).
        ['0015-held-back-publications', expect.any(Number)],
      ]);
      const moved = (await pending()).sort((a, b) => (String(a.PK) < String(b.PK) ? -1 : 1));
      expect(moved).toEqual(old.map((item) => ({ ...item, GSI1PK: `WEBHOOKS#DUE#${target}` })));
      const [again] = await rerunFromScratch(t, 13);
      expect(again).toMatchObject({ label: '0013-webhook-due-partitions', changed: 0 });

      // From their webhook's partition, each is sent once.
      expect(await app.app.get(WebhookDispatcher).dispatchDue()).toBe(3);
      expect(calls.sort()).toEqual(['old-1', 'old-2', 'old-3', 'rolling-1']);
      expect(await pending()).toEqual([]);

      // After 0013, an instance of the version before (a rollback) writes the old partition again: a
      // dispatcher started after 0013 still looks there, sends it, and its claim moves it (review 21b M-a).
      await recordOld(['after-0013']);
      const later = await createTestApp(
        { WEBHOOK_URLS: url, WEBHOOK_SECRET: 'migration-secret-0123456789abcdefghijklmnopqrstuvwxyz' },
        { tableName: t.tableName },
      );
      try {
        expect(await later.app.get(WebhookDispatcher).dispatchDue()).toBe(1);
      } finally {
        await later.app.close(); // not `close()`: that deletes the shared table
      }
      expect(calls.filter((id) => id === 'after-0013')).toHaveLength(1);
      expect(await pending()).toEqual([]);
    } finally {
      await app.close();
      receiver.close();
      await t.close();
    }
  });

  it('0014 replaces control characters in free text stored before the PlainText rule (posts, their links, comments, users, profiles, tags), on the values read and the version, once', async () => {
    const t = await fixtureApp();
    try {
      await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS.filter((migration) => migration.version < 14),
        progress: silent,
      });
      const items = await t.allItems();
      const now = new Date().toISOString();
      const post = items.find(
        (i) => i.entity === 'Post' && i.status === 'published' && String(i.publishedAt) <= now && i.categoryId,
      )!;
      const content = items.find((i) => i.entity === 'PostContent' && i.PK === post.PK)!;
      const link = items.find((i) => i.entity === 'PostLink' && i.postId === post.id && i.summary)!;
      const [comment, edited] = items.filter((i) => i.entity === 'Comment' && typeof i.content === 'string');
      const user = items.find((i) => i.entity === 'User' && i.id === post.authorId)!;
      const profile = items.find((i) => i.entity === 'Profile')!;
      const tag = items.find((i) => i.entity === 'Tag')!;
      expect([post, content, link, comment, edited, user, profile, tag].every(Boolean)).toBe(true);

      // Text as an older version (or db:import) stored it: a form feed, ESC, C1 CSI and NEL, with a tab and a line break.
      const legacy = (text: string) => `\u001b[31m${text}\u000c\u009b\tend\u0085`;
      const write = (item: Record<string, unknown>, set: string, values: Record<string, unknown>) =>
        t.db.send(
          new UpdateCommand({
            TableName: t.tableName,
            Key: { PK: item.PK, SK: item.SK },
            UpdateExpression: `SET ${set}`,
            ExpressionAttributeValues: values,
          }),
        );
      await write(post, 'title = :t, excerpt = :e', { ':t': legacy('Title'), ':e': legacy('Excerpt') });
      await write(content, 'content = :c', { ':c': legacy('Body\n\nmore') });
      await write(link, 'summary.title = :t', { ':t': legacy('Title') });
      await write(comment, 'content = :c', { ':c': legacy('Comment') });
      await write(edited, 'content = :c', { ':c': legacy('Comment') });
      await write(user, 'firstName = :f', { ':f': legacy('Ada') });
      await write(profile, 'bio = :b, preferences = :p', {
        ':b': legacy('Bio'),
        ':p': { theme: legacy('dark'), n: 1 },
      });
      await write(tag, 'description = :d', { ':d': legacy('Tag') });

      const strings = (value: unknown): string[] =>
        typeof value === 'string'
          ? [value]
          : value instanceof Set || Array.isArray(value)
            ? [...value].flatMap(strings)
            : value && typeof value === 'object'
              ? Object.values(value).flatMap(strings)
              : [];
      const key = (item: Record<string, unknown>) => `${String(item.PK)} ${String(item.SK)}`;
      const legacyItems = async () =>
        (await t.allItems()).filter((item) => strings(item).some(hasUnsafeCharacters)).map(key);
      expect((await legacyItems()).sort()).toEqual(
        [post, content, link, comment, edited, user, profile, tag].map(key).sort(),
      );

      // An edit lands between the migration's read and its write: the write fails, the edit stays.
      const rawKey = { PK: { S: String(edited.PK) }, SK: { S: String(edited.SK) } };
      const read = (
        await t.client.send(new GetItemCommand({ TableName: t.tableName, Key: rawKey, ConsistentRead: true }))
      ).Item!;
      const stale = plainLegacyText.migrate(read) as ItemUpdate;
      await write(edited, 'content = :c, version = version + :one', { ':c': 'Edited since', ':one': 1 });
      await expect(
        t.client.send(
          new UpdateItemCommand({
            TableName: t.tableName,
            Key: rawKey,
            UpdateExpression: stale.updateExpression,
            ConditionExpression: stale.conditionExpression,
            ExpressionAttributeNames: stale.names,
            ExpressionAttributeValues: stale.values,
          }),
        ),
      ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect((await t.getItem(String(edited.PK), String(edited.SK)))?.content).toBe('Edited since');

      const runs = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        progress: silent,
      });
      expect(runs.find((run) => run.label === '0014-plain-legacy-text')?.changed).toBe(7);
      expect(await legacyItems()).toEqual([]);
      const after = async (item: Record<string, unknown>) => (await t.getItem(String(item.PK), String(item.SK)))!;
      const cleaned = await after(post);
      expect(cleaned.title).toBe(plainTextOf(legacy('Title')));
      expect(cleaned.title).toBe('\uFFFD[31mTitle\uFFFD\uFFFD\tend\uFFFD');
      expect(cleaned.version).toBe(post.version); // the same text, less what no client can show: no new version
      expect((await after(content)).content).toBe(plainTextOf(legacy('Body\n\nmore')));
      expect(((await after(link)).summary as Record<string, unknown>).title).toBe(plainTextOf(legacy('Title')));
      expect((await after(profile)).preferences).toEqual({ theme: plainTextOf(legacy('dark')), n: 1 });
      expect((await after(edited)).content).toBe('Edited since');
      // Served as stored: the title as cleaned.
      const res = await t.api.get(`/api/v1/posts/${String(post.id)}`).expect(200);
      expect(res.body.title).toBe(plainTextOf(legacy('Title')));

      const [again] = (await rerunFromScratch(t, 14)).filter((run) => run.label === '0014-plain-legacy-text');
      expect(again).toMatchObject({ changed: 0 });
    } finally {
      await t.close();
    }
  });

  it('0014 drops the controls of a content U+FFFD would take past 200,000 bytes (sent back unchanged: 200), and skips, named, a comment it would take past 400 KB; the run goes on', async () => {
    const t = await fixtureApp();
    try {
      await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS.filter((migration) => migration.version < 14),
        progress: silent,
      });
      const items = await t.allItems();
      const author = items.find((i) => i.entity === 'User' && i.email === 'author@demo.example')!;
      const post = items.find((i) => i.entity === 'Post' && i.authorId === author.id)!;
      const content = items.find((i) => i.entity === 'PostContent' && i.PK === post.PK)!;
      const comment = items.find((i) => i.entity === 'Comment' && typeof i.content === 'string')!;
      // 100,000 characters, 60,000 of them C0 controls: 160,000 bytes (the old bounds allowed it); 280,000 with U+FFFD.
      const heavy = 'ab\u0001\u001b'.repeat(30_000) + 'c'.repeat(40_000);
      // A comment 1,000 bytes below 400 KB (imported) whose 1,000 controls would grow it by 2,000.
      const big = '\u0007'.repeat(1_000) + 'x'.repeat(400 * 1024 - 1_000 - 1_000 - itemSizeBytes(comment));
      for (const [item, text] of [
        [content, heavy],
        [comment, big],
      ] as const)
        await t.db.send(
          new UpdateCommand({
            TableName: t.tableName,
            Key: { PK: item.PK, SK: item.SK },
            UpdateExpression: 'SET content = :c',
            ExpressionAttributeValues: { ':c': text },
          }),
        );

      const lines: string[] = [];
      const runs = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: MIGRATIONS,
        progress: silent,
        log: (line) => lines.push(line),
      });
      expect(runs.find((run) => run.label === '0014-plain-legacy-text')).toMatchObject({ changed: 1, skipped: 1 });
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^  skipped ${String(comment.PK)}/${String(comment.SK)}: made plain it would be about \\d+ bytes, past DynamoDB's 400 KB`,
          ),
        ),
      );
      expect((await t.getItem(String(comment.PK), String(comment.SK)))?.content).toBe(big);
      const cleaned = (await t.getItem(String(content.PK), String(content.SK)))?.content as string;
      expect(cleaned).toBe('ab'.repeat(30_000) + 'c'.repeat(40_000));

      // The stated goal: the author sends the content back unchanged.
      const login = await t.api
        .post('/api/v1/auth/login')
        .send({ email: 'author@demo.example', password: 'demo-author-pass' })
        .expect(200);
      const bearer = `Bearer ${login.body.accessToken}`;
      const read = await t.api
        .get(`/api/v1/posts/${String(post.id)}`)
        .set('authorization', bearer)
        .expect(200);
      expect(read.body.content).toBe(cleaned);
      await t.api
        .patch(`/api/v1/posts/${String(post.id)}`)
        .set('authorization', bearer)
        .set('if-match', read.headers.etag)
        .send({ content: read.body.content })
        .expect(200);
    } finally {
      await t.close();
    }
  });

  it("0015 holds back the post.published of a post scheduled before session 22, sent once at its time; a removed webhook's pending deliveries dropped; once", async () => {
    const calls: { id: string; body: string }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        calls.push({ id: String(req.headers['x-webhook-id']), body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const env = { WEBHOOK_URLS: url, WEBHOOK_SECRET: 'migration-secret-0123456789abcdefghijklmnopqrstuvwxyz' };
    const t = await createTestApp(env);
    try {
      const target = webhookTarget(url);
      const author = await signUp(t);
      const post = (
        await t.api
          .post('/api/v1/posts')
          .set('authorization', author.bearer)
          .send({ title: 'Scheduled long ago', content: 'x' })
          .expect(201)
      ).body as { id: string };
      const at = new Date(Date.now() + 3_600_000).toISOString();
      await t.api
        .post(`/api/v1/posts/${post.id}/publish`)
        .set('authorization', author.bearer)
        .send({ publishAt: at })
        .expect(200);
      await processStream(t);
      // As the version before session 22 left it: the post.scheduled stored, nothing held back.
      const held = deferredPublicationId(post.id, at);
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: Keys.outboundEvent(held) }));
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: Keys.webhookDelivery(held, target) }));
      // A webhook removed before session 22: its pending delivery, its target never in WEBHOOKS#TARGETS.
      const removed = 'abcdefabcdef0123';
      const event = { id: 'evt_removed', type: 'user.registered', occurredAt: t.clock.now().toISOString(), data: {} };
      expect(await t.app.get(EventsRepository).record(event as never, undefined, [removed], t.clock.now())).toBe(
        'stored',
      );
      const dispatcher = t.app.get(WebhookDispatcher);
      await dispatcher.dispatchDue(); // this process now knows its partitions: the removed one is not among them
      const sent = () => calls.filter((call) => call.id === held);

      // The table as the version before left it: at layout 14.
      await t.db.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: Keys.migrationBaseline,
          UpdateExpression: 'SET version = :v',
          ExpressionAttributeValues: { ':v': 14 },
        }),
      );
      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      // The post marked, the removed webhook added to the set.
      expect(runs.map((run) => [run.label, run.changed])).toEqual([['0015-held-back-publications', 2]]);
      const summary = (await t.queryPartition(`POST#${post.id}`)).find((item) => item.SK === 'POST');
      expect(summary?.publicationHeldBack).toBe(at);
      await processStream(t);
      const heldEvent = await t.queryPartition(Keys.outboundEvent(held).PK);
      expect(heldEvent.find((item) => item.SK === 'EVENT')?.heldBack).toEqual({
        postId: post.id,
        publishedAt: at,
        authorId: author.userId,
      });
      expect(heldEvent.find((item) => item.target === target)).toMatchObject({ state: 'pending', nextAttemptAt: at });
      await dispatcher.dispatchDue();
      expect(sent()).toEqual([]);

      // At its time, post.published goes out once, with the post as it is.
      t.clock.set(new Date(Date.parse(at) + 1000));
      await dispatcher.dispatchDue();
      expect(sent().map((call) => JSON.parse(call.body) as { type: string; data: Record<string, unknown> })).toEqual([
        expect.objectContaining({
          type: 'post.published',
          data: expect.objectContaining({ id: post.id, title: 'Scheduled long ago', publishedAt: at }),
        }),
      ]);
      // Run again: nothing changes, nothing more is sent.
      const [again] = (await rerunFromScratch(t, 15)).filter((r) => r.label === '0015-held-back-publications');
      expect(again.changed).toBe(0);
      await processStream(t);
      await dispatcher.dispatchDue();
      expect(sent()).toHaveLength(1);

      // The next dispatcher to start finds the removed webhook in the set and drops its delivery, unsent.
      const later = await createTestApp(env, { tableName: t.tableName });
      try {
        await later.app.get(WebhookDispatcher).dispatchDue();
      } finally {
        await later.app.close(); // not `close()`: that deletes the shared table
      }
      const deliveries = await t.queryPartition(Keys.outboundEvent('evt_removed').PK);
      expect(deliveries.find((item) => item.target === removed)).toMatchObject({
        state: 'dropped',
        lastError: 'webhook no longer configured',
      });
      expect(calls.filter((call) => call.id === 'evt_removed')).toEqual([]);
    } finally {
      await t.close();
      receiver.close();
    }
  });

  it('0006 moves the users and outbound events of the unsharded listing partitions to their shards, once', async () => {
    const t = await fixtureApp();
    // A second instance over the same table, whose admin bootstrap adds an admin (written sharded).
    const withAdmin = await createTestApp(ADMIN_ENV, { tableName: t.tableName });
    try {
      const eventIds = await writeOldLayoutEvents(t.client, t.tableName, 12, t.clock.now());
      const admin = await signInAdmin(withAdmin);
      const walk = async (path: string, filter = '') => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const res = await withAdmin.api
            .get(`${path}?limit=3${filter}${cursor ? `&cursor=${cursor}` : ''}`)
            .set('authorization', admin.bearer)
            .expect(200);
          ids.push(...(res.body.items as { id: string }[]).map((item) => item.id));
          cursor = res.body.nextCursor ?? undefined;
        } while (cursor);
        return ids;
      };
      const users = async () =>
        (await t.allItems())
          .filter((i) => i.entity === 'User')
          .sort((a, b) => (String(a.GSI1SK) < String(b.GSI1SK) ? 1 : -1));
      const legacy = (await users()).filter((u) => u.GSI1PK === 'USERS');
      expect(legacy.length).toBeGreaterThanOrEqual(5);
      // Before it: the listings read only the shards, so they miss the fixture's users and the old events.
      expect(await walk('/api/v1/users')).toEqual([admin.userId]);
      expect(await walk('/api/v1/admin/events')).toEqual([]);

      const runs = await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS });
      expect(runs.find((run) => run.label === '0006-shard-listing-partitions')?.changed).toBe(
        legacy.length + eventIds.length,
      );
      const moved = await users();
      for (const user of moved) {
        const n = shardOf(String(user.id));
        expect([user.GSI1PK, user.GSI2PK, user.GSI3PK, user.GSI4PK]).toEqual([
          `USERS#${n}`,
          `USERS#STATUS#${String(user.status)}#${n}`,
          `USERS#ROLE#${String(user.role)}#${n}`,
          `USERS#ROLE#${String(user.role)}#STATUS#${String(user.status)}#${n}`,
        ]);
      }
      // Every user and event, newest first, as the one partition listed them.
      expect(await walk('/api/v1/users')).toEqual(moved.map((u) => String(u.id)));
      expect(await walk('/api/v1/admin/events')).toEqual(eventIds);
      const actives = moved.filter((u) => u.status === 'active').map((u) => String(u.id));
      expect(await walk('/api/v1/users', '&status=active')).toEqual(actives);

      const [again] = await rerunFromScratch(t, 6);
      expect(again).toMatchObject({ label: '0006-shard-listing-partitions', changed: 0 });
    } finally {
      await withAdmin.close();
      await t.close();
    }
  });

  it("0009 counts the timelines and authors' posts of a table written before the feed's day counts, and aligns the entries' ttl, once", async () => {
    const t = await fixtureApp();
    try {
      await runMigrations({ client: t.client, tableName: t.tableName, migrations: MIGRATIONS, progress: silent });
      const [reader, author, unfollowed, fanIn] = [await signUp(t), await signUp(t), await signUp(t), await signUp(t)];
      // As the code before 0009 left them: posts, the reader's follow edge and timeline entries
      // whose ttl is the publication time plus 30 days, and no day count anywhere. Also entries the
      // feed does not show: those of an author the reader unfollowed (the unfollow left them) and
      // of an author the reader merges in as fan-in (the promotion left those fanned out before).
      const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
      const posts = [
        ...[2, 10, 29.5, 40].map((days) => ({ days, authorId: author.userId })),
        { days: 3, authorId: unfollowed.userId },
        { days: 12, authorId: unfollowed.userId },
        { days: 5, authorId: fanIn.userId },
      ].map(({ days, authorId }, i) => ({
        id: `legacy0009post${i}`,
        authorId,
        title: `Before 0009 ${i}`,
        slug: `before-0009-${i}`,
        excerpt: 'x',
        tagIds: [],
        status: 'published' as const,
        publishedAt: ago(days),
        viewCount: 0,
        likeCount: 0,
        commentCount: 0,
        createdAt: ago(days),
        updatedAt: ago(days),
        version: 1,
      }));
      const put = (Item: Record<string, unknown>) => t.db.send(new PutCommand({ TableName: t.tableName, Item }));
      await put(toFollowItem(reader.userId, author.userId, ago(50)));
      await put(toFollowItem(reader.userId, fanIn.userId, ago(50)));
      await put(toFollowCountsItem(fanIn.userId, { followerCount: 1, followingCount: 0, fanIn: true }));
      await put(
        toFollowCountsItem(reader.userId, { followerCount: 0, followingCount: 2, fanInAuthors: [fanIn.userId] }),
      );
      for (const post of posts) {
        await put(toPostSummaryItem(post));
        await put({
          ...Keys.timelineEntry(reader.userId, post.publishedAt, post.id),
          entity: 'TimelineEntry',
          postId: post.id,
          authorId: post.authorId,
          ttl: Math.floor(Date.parse(post.publishedAt) / 1000) + 30 * 86_400,
        });
      }
      // An entry that names no author (written before entries carried one): never shown, so
      // neither counted nor kept.
      const noAuthor = Keys.timelineEntry(reader.userId, ago(4), 'legacy0009noauthor');
      await put({
        ...noAuthor,
        entity: 'TimelineEntry',
        postId: 'legacy0009noauthor',
        ttl: Math.floor(Date.parse(ago(4)) / 1000) + 30 * 86_400,
      });
      const dayDrift = async () =>
        (await checkCounts({ client: t.client, tableName: t.tableName })).drift.filter((d) =>
          ['reader feed day', 'author published day'].includes(d.counter),
        );
      const feedCount = async () =>
        (
          (await t.api.get('/api/articles/feed?limit=100').set('authorization', reader.bearer).expect(200)).body as {
            articlesCount: number;
            articles: { title: string }[];
          }
        ).articlesCount;
      expect((await dayDrift()).length).toBeGreaterThan(0);
      expect(await feedCount()).toBe(0);
      // db:check-counts tells the entries the feed does not show: two unfollowed, one fan-in, one
      // without an author.
      const hiddenBefore = (await checkCounts({ client: t.client, tableName: t.tableName })).hidden;
      expect(hiddenBefore.map((h) => [h.key.SK, h.reason]).sort()).toEqual(
        posts
          .slice(4)
          .map((post, i) => [`${post.publishedAt}#${post.id}`, i < 2 ? 'not followed' : 'fan-in'])
          .concat([[noAuthor.SK, 'no author']])
          .sort(),
      );

      // 0009 over the table as it is now (the run above applied it to the fixture if it is listed).
      const record = Keys.migration(9);
      const forget = () =>
        t.client.send(
          new DeleteItemCommand({ TableName: t.tableName, Key: { PK: { S: record.PK }, SK: { S: record.SK } } }),
        );
      await forget();
      // A dry run names the hidden entries it would delete, and deletes none.
      const lines: string[] = [];
      const [dry] = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: [feedDayCounts],
        progress: silent,
        dryRun: true,
        log: (line: string) => lines.push(line),
      });
      expect(dry.changed).toBeGreaterThan(0);
      expect(lines.join('\n')).toContain(`USER#${reader.userId} FEED#DAYS`);
      expect(lines.join('\n')).toContain('(4 hidden entries to delete, not counted)');
      expect((await checkCounts({ client: t.client, tableName: t.tableName })).hidden).toHaveLength(4);
      const [run] = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: [feedDayCounts],
        progress: silent,
      });
      expect(run).toMatchObject({ label: '0009-feed-day-counts' });
      expect(run.changed).toBeGreaterThan(0);
      expect(await dayDrift()).toEqual([]);
      // The three posts of the window the author followed wrote, counted once each (the one of 40
      // days ago is not), and the fan-in author's, counted by their own day counts: what the feed
      // shows. The unfollowed and fan-in authors' entries are gone, so no withdrawal takes a -1
      // for them later.
      const shown = await t.api.get('/api/articles/feed?limit=100').set('authorization', reader.bearer).expect(200);
      expect((shown.body as { articles: { title: string }[] }).articles.map((a) => a.title)).toEqual([
        'Before 0009 0',
        'Before 0009 6',
        'Before 0009 1',
        'Before 0009 2',
      ]);
      expect(await feedCount()).toBe(4);
      const days = await t.getItem(Keys.feedDays(reader.userId).PK, Keys.feedDays(reader.userId).SK);
      expect(days).toMatchObject({ entity: 'FeedDays', [dayAttribute(posts[0].publishedAt)]: 1 });
      for (const post of posts.slice(4)) {
        const key = Keys.timelineEntry(reader.userId, post.publishedAt, post.id);
        expect(await t.getItem(key.PK, key.SK)).toBeUndefined();
      }
      expect(await t.getItem(noAuthor.PK, noAuthor.SK)).toBeUndefined();
      expect((await checkCounts({ client: t.client, tableName: t.tableName })).hidden).toEqual([]);
      for (const post of posts.slice(0, 4)) {
        const key = Keys.timelineEntry(reader.userId, post.publishedAt, post.id);
        expect((await t.getItem(key.PK, key.SK))?.ttl).toBe(timelineEntryTtl(post.publishedAt));
      }

      // Run again from scratch (its record deleted): every count is right, so nothing changes.
      await forget();
      const [again] = await runMigrations({
        client: t.client,
        tableName: t.tableName,
        migrations: [feedDayCounts],
        progress: silent,
      });
      expect(again).toMatchObject({ label: '0009-feed-day-counts', changed: 0 });
    } finally {
      await t.close();
    }
  });
});
