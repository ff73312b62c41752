import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { batchWriteAll } from '../src/dynamo/batch.js';
import { EventIndexKeys, Keys } from '../src/dynamo/keys.js';
import { INDEX_SHARDS, shardPartitions } from '../src/dynamo/sharding.js';
import { epochSeconds } from '../src/dynamo/expressions.js';
import { WEBHOOK_IN_FLIGHT_PER_TARGET, WebhookDispatcher, webhookTarget } from '../src/events/webhook-dispatcher.js';
import { verifyWebhook } from '../src/events/webhook-signature.js';
import { deferredPublicationId } from '../src/events/deferred-publication.js';
import { StreamPoller } from '../src/stream/stream-poller.js';
import { expectCappedPageOfOne, listedPage, pageQuery } from './helpers/filled-pages.js';
import { processStream } from './helpers/stream.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUp,
  type SignedIn,
  type TestApp,
  SEEDING_TIMEOUT_MS,
} from './helpers/test-app.js';

jest.setTimeout(SEEDING_TIMEOUT_MS);

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
/** The key being rotated out: every request carries a second v1 made with it. */
const PREVIOUS_SECRET = 'previous-webhook-secret-for-tests-987654';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
/** Short and fixed backoff for the test: 1 s after the first failure, doubling, at most 60 s (the test moves the clock). */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 60_000;
/**
 * The receivers run in this test's own process: on a loaded machine an answer can take seconds to
 * be read, and an attempt timed out would be a failure the retry counts below do not expect. The
 * longest timeout the configuration allows, so only a receiver's status decides an attempt.
 */
const TIMEOUT_MS = 60_000;

interface Received {
  body: string;
  signature: string | undefined;
  id: string | undefined;
  status: number;
}

/**
 * A local webhook receiver on 127.0.0.1: answers each call with `answer(n)`, n counting from 1 the
 * calls for the same event id, and keeps what it got.
 */
class Receiver {
  readonly calls: Received[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly answer: (call: number) => number) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const id = req.headers['x-webhook-id'] as string | undefined;
        const status = this.answer(this.calls.filter((call) => call.id === id).length + 1);
        this.calls.push({
          body: Buffer.concat(chunks).toString('utf8'),
          signature: req.headers['x-webhook-signature'] as string | undefined,
          id,
          status,
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/receiver?k=1`;
    return this;
  }

  callsFor(eventId: string): Received[] {
    return this.calls.filter((call) => call.id === eventId);
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('outbound events and webhooks (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  const ok = new Receiver(() => 204);
  /** Fails the first 3 calls of each event, then succeeds. */
  const flaky = new Receiver((call) => (call <= 3 ? 500 : 200));
  const down = new Receiver(() => 503);
  /** Subscribed to post.published only (`<url>|post.published`). */
  const publishedOnly = new Receiver(() => 200);
  let registered: { userId: string; email: string; eventId: string };

  const dispatcher = () => t.app.get(WebhookDispatcher);
  const eventOf = (call: Received) =>
    JSON.parse(call.body) as { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
  const createPost = async (author: SignedIn, title: string) =>
    (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title, content: 'Some body' })
        .expect(201)
    ).body as { id: string; slug: string };
  /** What `r` got about the post `id`, by type (deliveries go out in no set order). */
  const got = (r: Receiver, id: string) =>
    r.calls
      .map(eventOf)
      .filter((e) => e.data.id === id)
      .map((e) => ({ type: e.type, data: e.data }))
      .sort((a, b) => a.type.localeCompare(b.type));

  beforeAll(async () => {
    await Promise.all([ok.start(), flaky.start(), down.start(), publishedOnly.start()]);
    t = await createTestApp({
      ...ADMIN_ENV,
      METRICS_TOKEN,
      WEBHOOK_URLS: [ok.url, flaky.url, down.url, `${publishedOnly.url}|post.published`].join(','),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_SECRET_PREVIOUS: PREVIOUS_SECRET,
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
      WEBHOOK_RETRY_MAX_MS: String(RETRY_MAX_MS),
    });
    admin = await signInAdmin(t);
    // The clock stands still from here: the retries are due only when a test moves it. A clock
    // that follows the machine's time made a retry due on its own whenever a second passed
    // between two rounds (RETRY_BASE_MS), as on a busy machine: the retry counts then came out high.
    t.clock.set(t.clock.now());
    await processStream(t);
    await dispatcher().dispatchDue(); // the set-up's own events (the admin's registration)
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([ok.close(), flaky.close(), down.close(), publishedOnly.close()]);
  });

  it('delivers a registration to a local receiver with a valid signature, and public fields only', async () => {
    const user = await signUp(t);
    await processStream(t);
    expect(ok.calls.filter((c) => eventOf(c).data.id === user.userId)).toHaveLength(0); // nothing sent by the stream itself
    await dispatcher().dispatchDue();

    const calls = ok.calls.filter((c) => eventOf(c).type === 'user.registered' && eventOf(c).data.id === user.userId);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    const event = eventOf(call);
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: 'user.registered',
      occurredAt: expect.any(String),
      data: { id: user.userId, username: expect.any(String), createdAt: expect.any(String) },
    });
    expect(call.id).toBe(event.id);
    expect(call.body).not.toContain(user.email);
    expect(call.body).not.toMatch(/password|hash|token/i);
    expect(verifyWebhook(SECRET, call.body, call.signature, epochSeconds(t.clock.now()))).toBe(true);
    expect(verifyWebhook(`${SECRET}-other`, call.body, call.signature, epochSeconds(t.clock.now()))).toBe(false);
    // A rotation is under way: a receiver still verifying with the previous key accepts it too.
    expect(call.signature?.split(',').filter((part) => part.startsWith('v1='))).toHaveLength(2);
    expect(verifyWebhook(PREVIOUS_SECRET, call.body, call.signature, epochSeconds(t.clock.now()))).toBe(true);
    registered = { userId: user.userId, email: user.email, eventId: event.id };
  });

  it('retries with backoff: a receiver failing 3 times gets the event once more (4 calls, 1 success)', async () => {
    const { eventId } = registered;
    expect(flaky.callsFor(eventId).map((c) => c.status)).toEqual([500]);
    // Not due again before its backoff: a round now sends nothing.
    await dispatcher().dispatchDue();
    expect(flaky.callsFor(eventId)).toHaveLength(1);
    for (let round = 0; round < 12; round++) {
      t.clock.advance(RETRY_MAX_MS);
      await dispatcher().dispatchDue();
    }
    expect(flaky.callsFor(eventId).map((c) => c.status)).toEqual([500, 500, 500, 200]);
    expect(ok.callsFor(eventId)).toHaveLength(1);
    // Every retry carries the same body, signed again at its own time.
    expect(new Set(flaky.callsFor(eventId).map((c) => c.body)).size).toBe(1);
  });

  it('dead-letters a delivery to a receiver that always fails, after exactly 8 attempts', async () => {
    const { eventId } = registered;
    expect(down.callsFor(eventId)).toHaveLength(8);
    const res = await t.api.get('/api/v1/admin/webhooks/dead-letters').set('authorization', admin.bearer).expect(200);
    const letters = (res.body as { items: { eventId: string; target: string; attempts: number }[] }).items;
    const mine = letters.filter((letter) => letter.eventId === eventId);
    expect(mine).toEqual([
      expect.objectContaining({
        eventId,
        eventType: 'user.registered',
        target: webhookTarget(down.url),
        attempts: 8,
        lastStatus: 503,
        lastError: 'HTTP 503',
      }),
    ]);
    // A dead letter is never tried again.
    t.clock.advance(24 * 3600 * 1000);
    await dispatcher().dispatchDue();
    expect(down.callsFor(eventId)).toHaveLength(8);
    // The URL itself is not stored (it may hold the receiver's secret).
    expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
  });

  /** Every record handled again from TRIM_HORIZON, as after a crash before any checkpoint. */
  async function replayWholeStream(): Promise<void> {
    await t.app.get(StreamPoller).stop();
    const checkpoints = await t.db.send(
      new QueryCommand({
        TableName: t.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': Keys.streamCheckpointPartition },
      }),
    );
    for (const item of checkpoints.Items ?? []) {
      await t.db.send(new DeleteCommand({ TableName: t.tableName, Key: { PK: item.PK, SK: item.SK } }));
    }
    await processStream(t);
  }

  it('a stream replayed from the start stores and sends nothing again (event ids come from the records)', async () => {
    const before = [ok.calls.length, flaky.calls.length, down.calls.length, publishedOnly.calls.length];
    await replayWholeStream();
    t.clock.advance(RETRY_MAX_MS);
    await dispatcher().dispatchDue();
    expect([ok.calls.length, flaky.calls.length, down.calls.length, publishedOnly.calls.length]).toEqual(before);
  });

  it('lists post.published, comment.created, post.deleted and user.registered for admins, newest first', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Outbound', content: 'x' })
        .expect(201)
    ).body as { id: string; slug: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    await t.api
      .post(`/api/v1/posts/${post.id}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'first' })
      .expect(201);
    // Handled before the deletion: a publication or comment handled after its post is gone is not
    // announced at all (docs/streams.md, review-3 #4).
    await processStream(t);
    await t.api.delete(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(204);
    await processStream(t);

    // Events of the same second are in no set order among themselves: a page wide enough for this test's.
    const res = await t.api.get('/api/v1/admin/events?limit=12').set('authorization', admin.bearer).expect(200);
    const page = res.body as {
      items: { id: string; type: string; occurredAt: string; data: Record<string, unknown> }[];
      nextCursor: string | null;
    };
    expect(page.items.length).toBeLessThanOrEqual(12);
    const times = page.items.map((e) => e.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    const types = page.items.map(
      (e) => `${e.type} ${String(e.data.id === post.id || e.data.postId === post.id || e.data.id === author.userId)}`,
    );
    expect(types).toEqual(
      expect.arrayContaining([
        'post.deleted true',
        'comment.created true',
        'post.published true',
        'user.registered true',
      ]),
    );
    const published = page.items.find((e) => e.type === 'post.published')!;
    expect(published.data).toMatchObject({ id: post.id, slug: post.slug, title: 'Outbound', authorId: author.userId });
    // The receiver subscribed to post.published got that event of this post and nothing else of
    // it (not the comment, the deletion or the author's registration); the unfiltered one got all four.
    await dispatcher().dispatchDue();
    const about = (r: Receiver) =>
      r.calls
        .map(eventOf)
        .filter((e) => e.data.id === post.id || e.data.postId === post.id || e.data.id === author.userId)
        .map((e) => e.type)
        .sort();
    expect(about(publishedOnly)).toEqual(['post.published']);
    expect(about(ok)).toEqual(['comment.created', 'post.deleted', 'post.published', 'user.registered']);
    expect(new Set(publishedOnly.calls.map((c) => eventOf(c).type))).toEqual(new Set(['post.published']));
    expect(JSON.stringify(page.items)).not.toContain(author.email);
    // Pages of 2 go on from each other, newest first, with no event twice.
    const first = await t.api.get('/api/v1/admin/events?limit=2').set('authorization', admin.bearer).expect(200);
    const firstPage = first.body as { items: { id: string; occurredAt: string }[]; nextCursor: string };
    expect(firstPage.nextCursor).toEqual(expect.any(String));
    const next = await t.api
      .get(`/api/v1/admin/events?limit=2&cursor=${firstPage.nextCursor}`)
      .set('authorization', admin.bearer)
      .expect(200);
    const older = (next.body as { items: { id: string; occurredAt: string }[] }).items;
    expect(older).toHaveLength(2);
    expect(older.some((e) => firstPage.items.some((f) => f.id === e.id))).toBe(false);
    expect(older[0].occurredAt <= firstPage.items[1].occurredAt).toBe(true);
  });

  it('stores and sends no id of a user erased before their records are handled (or handled again)', async () => {
    const author = await signUp(t);
    const post = (
      await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .send({ title: 'Before erasure', content: 'x' })
        .expect(201)
    ).body as { id: string };
    await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
    await t.api
      .post(`/api/v1/posts/${post.id}/comments`)
      .set('authorization', author.bearer)
      .send({ content: 'mine' })
      .expect(201);
    // Erased before the processor saw any of it; then its records are handled, and handled again
    // (a crash before the checkpoint), after the erasure's own cascade has run.
    await t.api.delete(`/api/v1/users/${author.userId}?mode=hard`).set('authorization', admin.bearer).expect(204);
    await processStream(t);
    await replayWholeStream();
    await dispatcher().dispatchDue();

    const res = await t.api.get('/api/v1/admin/events?limit=100').set('authorization', admin.bearer).expect(200);
    const stored = (res.body as { items: { type: string; data: Record<string, unknown> }[] }).items;
    const published = stored.filter((e) => e.type === 'post.published' && e.data.id === post.id);
    expect(published).toEqual([expect.objectContaining({ data: expect.objectContaining({ authorId: null }) })]);
    expect(stored.filter((e) => e.type === 'comment.created' && e.data.postId === post.id)).toHaveLength(1);
    expect(stored.filter((e) => e.type === 'comment.updated' && e.data.postId === post.id)).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(author.userId);
    const sent = ok.calls.filter((c) => c.body.includes(post.id));
    // The anonymisation of the live post (session 22) and of the comment (session 23) are announced,
    // credited to deleted-user: a mirror drops the erased author's name from them.
    expect(sent.map((c) => eventOf(c).type).sort()).toEqual([
      'comment.created',
      'comment.updated',
      'post.published',
      'post.updated',
    ]);
    expect(got(ok, post.id).find((e) => e.type === 'post.updated')?.data).toMatchObject({
      authorId: 'deleted-user',
      authorUsername: null,
    });
    const anonymised = sent.map(eventOf).find((e) => e.type === 'comment.updated');
    expect(anonymised?.data).toMatchObject({
      postId: post.id,
      authorId: 'deleted-user',
      authorUsername: null,
      // Comments wait for moderation here: no text of a pending comment, as in comment.created.
      status: 'pending',
      content: null,
    });
    expect(ok.calls.filter((c) => c.body.includes(author.userId))).toEqual([]);
  });

  it('announces a change of username as user.renamed, once; nothing for a sign-in, a name, a role or a status (session 22)', async () => {
    const user = await signUp(t);
    await processStream(t);
    await t.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    await t.api.patch('/api/v1/users/me').set('authorization', user.bearer).send({ firstName: 'Renamed' }).expect(200);
    const username = `renamed${Date.now() % 1_000_000}`;
    await t.api.patch('/api/v1/users/me').set('authorization', user.bearer).send({ username }).expect(200);
    await t.api
      .patch(`/api/v1/users/${user.userId}/role`)
      .set('authorization', admin.bearer)
      .send({ role: 'moderator' })
      .expect(200);
    await t.api
      .patch(`/api/v1/users/${user.userId}/status`)
      .set('authorization', admin.bearer)
      .send({ status: 'suspended' })
      .expect(200);
    await processStream(t);
    await dispatcher().dispatchDue();
    const renames = got(ok, user.userId).filter((e) => e.type !== 'user.registered');
    expect(renames).toEqual([
      { type: 'user.renamed', data: { id: user.userId, username, version: expect.any(Number) as unknown } },
    ]);
    expect(JSON.stringify(renames)).not.toContain(user.email);
  });

  it('announces a scheduled post by id and time only, and a withdrawal as post.unpublished (review 20a L4)', async () => {
    const author = await signUp(t);
    const create = (title: string) => createPost(author, title);
    const move = (id: string, action: 'publish' | 'unpublish' | 'archive', body: object = {}) =>
      t.api.post(`/api/v1/posts/${id}/${action}`).set('authorization', author.bearer).send(body).expect(200);
    const publishAt = new Date(t.clock.now().getTime() + 86_400_000).toISOString();
    const embargoed = await create('Embargo title');
    const live = await create('Live then archived');
    const back = await create('Archived and back');
    await move(embargoed.id, 'publish', { publishAt });
    await move(live.id, 'publish');
    await processStream(t);
    await move(embargoed.id, 'unpublish');
    await move(live.id, 'archive');
    // Live, archived and live again before the records are handled: the archive is stale by then.
    await move(back.id, 'publish');
    await move(back.id, 'archive');
    await move(back.id, 'publish');
    await processStream(t);
    await dispatcher().dispatchDue();

    // The embargoed post: its id and time, never its title, slug or excerpt; then its withdrawal, without the slug.
    const version: unknown = expect.any(Number);
    expect(got(ok, embargoed.id)).toEqual([
      { type: 'post.scheduled', data: { id: embargoed.id, publishedAt: publishAt, version } },
      { type: 'post.unpublished', data: { id: embargoed.id, slug: null, status: 'draft', version } },
    ]);
    // Each carries the summary's version: the withdrawal's is above the schedule's, so a receiver
    // that gets them out of order keeps the withdrawal.
    const versions = (id: string) => got(ok, id).map((e) => Number(e.data.version));
    expect(versions(embargoed.id)[1]).toBeGreaterThan(versions(embargoed.id)[0]);
    expect(JSON.stringify(ok.calls.map(eventOf))).not.toMatch(/Embargo|embargo/);
    expect(got(publishedOnly, embargoed.id)).toEqual([]);
    // The live post archived: a mirror learns to withdraw it, by id and slug.
    expect(got(ok, live.id)).toEqual([
      expect.objectContaining({ type: 'post.published' }),
      { type: 'post.unpublished', data: { id: live.id, slug: live.slug, status: 'archived', version } },
    ]);
    expect(versions(live.id)[1]).toBeGreaterThan(versions(live.id)[0]);
    expect(got(ok, back.id).map((e) => e.type)).not.toContain('post.unpublished');
    expect(got(ok, back.id).map((e) => e.type)).toContain('post.published');
  });

  it('announces an edit of a live post as post.updated, once; not a count, a scheduled post, a late edit; a scheduled post deleted by id only', async () => {
    const author = await signUp(t);
    const reader = await signUp(t);
    const create = (title: string) => createPost(author, title);
    const publish = (id: string, body: object = {}) =>
      t.api.post(`/api/v1/posts/${id}/publish`).set('authorization', author.bearer).send(body).expect(200);
    const edit = (id: string, body: object) =>
      t.api.patch(`/api/v1/posts/${id}`).set('authorization', author.bearer).send(body).expect(200);
    const remove = (id: string) => t.api.delete(`/api/v1/posts/${id}`).set('authorization', author.bearer).expect(204);
    const live = await create('Mirrored');
    const scheduled = await create('Held back');
    const gone = await create('Edited then deleted');
    await publish(live.id);
    await publish(gone.id);
    const publishAt = new Date(t.clock.now().getTime() + 86_400_000).toISOString();
    await publish(scheduled.id, { publishAt });
    await processStream(t);
    // Two edits of the live post, the second (title and body) saved before the first's record is
    // handled: the first sends nothing, the newer one stands (review 21b L-a). Then what is not an
    // edit: a like, a view, a comment.
    await edit(live.id, { title: 'Mirrored, first try' });
    await edit(live.id, { title: 'Mirrored, edited', content: 'A new body' });
    await t.api.put(`/api/v1/posts/${live.id}/like`).set('authorization', reader.bearer).expect(200);
    await t.api.post(`/api/v1/posts/${live.id}/views`).set('authorization', reader.bearer).expect(200);
    await t.api
      .post(`/api/v1/posts/${live.id}/comments`)
      .set('authorization', reader.bearer)
      .send({ content: 'Nice' })
      .expect(201);
    // The scheduled post's edit (not public), then its deletion; an edit handled after its post's deletion.
    await edit(scheduled.id, { title: 'Held back, secret edit' });
    await remove(scheduled.id);
    await edit(gone.id, { title: 'Edited then deleted, late' });
    await remove(gone.id);
    await processStream(t);
    await dispatcher().dispatchDue();

    const updates = got(ok, live.id).filter((e) => e.type === 'post.updated');
    expect(updates).toEqual([
      {
        type: 'post.updated',
        data: expect.objectContaining({
          id: live.id,
          slug: live.slug,
          title: 'Mirrored, edited',
          authorId: author.userId,
          version: expect.any(Number),
          updatedAt: expect.any(String),
        }),
      },
    ]);
    expect(got(ok, live.id).map((e) => e.type)).toEqual(['post.published', 'post.updated']);
    // The edit's version is above the publication's: a mirror keeps the highest one.
    const [published] = got(ok, live.id);
    expect(Number(updates[0].data.version)).toBeGreaterThan(Number(published.data.version));
    const version: unknown = expect.any(Number);
    expect(got(ok, scheduled.id)).toEqual([
      { type: 'post.deleted', data: { id: scheduled.id, slug: null, version } },
      { type: 'post.scheduled', data: { id: scheduled.id, publishedAt: publishAt, version } },
    ]);
    expect(JSON.stringify(ok.calls.map(eventOf))).not.toMatch(/Held back|held-back/);
    expect(got(ok, gone.id)).toEqual([
      { type: 'post.deleted', data: { id: gone.id, slug: gone.slug, version } },
      expect.objectContaining({ type: 'post.published' }),
    ]);
    // A deletion carries its summary's last version (the late edit's, announced by nothing): above
    // the events before it, so a receiver never lets an older event bring the post back.
    const [deletion, publication] = got(ok, gone.id);
    expect(Number(deletion.data.version)).toBeGreaterThan(Number(publication.data.version));
    expect(Number(got(ok, scheduled.id)[0].data.version)).toBeGreaterThan(
      Number(got(ok, scheduled.id)[1].data.version),
    );
    expect(got(publishedOnly, live.id).map((e) => e.type)).toEqual(['post.published']);

    // An edit that changes nothing a reader sees writes nothing (session 22: `{}` sent a
    // post.updated): the same version, and no event.
    const { version: current } = (await t.api.get(`/api/v1/posts/${live.id}`).expect(200)).body as { version: number };
    for (const body of [{}, { title: 'Mirrored, edited', content: 'A new body' }]) {
      const same = await t.api
        .patch(`/api/v1/posts/${live.id}`)
        .set('authorization', author.bearer)
        .set('if-match', `"${current}"`)
        .send(body)
        .expect(200);
      expect((same.body as { version: number }).version).toBe(current);
    }
    await processStream(t);
    await dispatcher().dispatchDue();
    expect(got(ok, live.id).map((e) => e.type)).toEqual(['post.published', 'post.updated']);
  });

  it('refuses the event listings to non-admins (403) and to anonymous callers (401)', async () => {
    const user = await signUp(t);
    for (const path of ['/api/v1/admin/events', '/api/v1/admin/webhooks/dead-letters']) {
      const forbidden = await t.api.get(path).set('authorization', user.bearer).expect(403);
      expect((forbidden.body as { code: string }).code).toBe('insufficient_role');
      await t.api.get(path).expect(401);
    }
  });

  it('counts deliveries by outcome in /metrics', async () => {
    const res = await t.http.get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    const count = (outcome: string) =>
      Number(new RegExp(`^webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(res.text)?.[1] ?? 0);
    expect(count('delivered')).toBeGreaterThanOrEqual(2);
    expect(count('failed')).toBeGreaterThanOrEqual(3 + 7);
    expect(count('dead')).toBeGreaterThanOrEqual(1);
  });

  it('replays a dead letter for admins: concurrent calls make one new delivery; 404 unknown, 403 non-admin', async () => {
    const { eventId } = registered;
    const deadLetters = async () =>
      // A page wide enough for every dead letter of this suite (each event dies at the receiver that is down).
      (
        (
          await t.api
            .get('/api/v1/admin/webhooks/dead-letters?limit=100')
            .set('authorization', admin.bearer)
            .expect(200)
        ).body as { items: { id: string; eventId: string; attempts: number }[] }
      ).items.filter((letter) => letter.eventId === eventId);
    const [letter] = await deadLetters();
    expect(letter.id).toBe(`${eventId}.${webhookTarget(down.url)}`);
    const replay = (id: string, bearer = admin.bearer) =>
      t.api.post(`/api/v1/admin/webhooks/dead-letters/${id}/replay`).set('authorization', bearer);

    const user = await signUp(t);
    expect((await replay(letter.id, user.bearer).expect(403)).body).toMatchObject({ code: 'insufficient_role' });
    await t.api.post(`/api/v1/admin/webhooks/dead-letters/${letter.id}/replay`).expect(401);
    for (const unknown of [`${eventId}.${'0'.repeat(16)}`, 'evt_nothing', `${eventId}.${webhookTarget(ok.url)}`]) {
      // The last one exists but was delivered, never dead.
      expect((await replay(unknown).expect(404)).body).toMatchObject({ code: 'dead_letter_not_found' });
    }
    expect(down.callsFor(eventId)).toHaveLength(8);

    const answers = await Promise.all(Array.from({ length: 5 }, () => replay(letter.id)));
    expect(answers.map((res) => res.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.filter((res) => (res.body as { replayed: boolean }).replayed)).toHaveLength(1);
    expect(await deadLetters()).toEqual([]);
    await dispatcher().dispatchDue();
    expect(down.callsFor(eventId)).toHaveLength(9); // one new delivery, its first attempt
    expect(flaky.callsFor(eventId)).toHaveLength(4); // the other webhooks' deliveries untouched
    expect((await replay(letter.id).expect(202)).body).toEqual({ id: letter.id, replayed: false });

    // It is retried as a new delivery: 8 attempts, then a dead letter again, replayable again.
    for (let round = 0; round < 12; round++) {
      t.clock.advance(RETRY_MAX_MS);
      await dispatcher().dispatchDue();
    }
    expect(down.callsFor(eventId)).toHaveLength(16);
    expect(await deadLetters()).toEqual([expect.objectContaining({ id: letter.id, attempts: 8 })]);
  });
  it('lists every event once, newest first, merging the shards of EVENTS page by page at a flat cost', async () => {
    const base = Date.parse('2026-05-01T00:00:00.000Z');
    const ttl = epochSeconds(t.clock.now()) + 86_400;
    const seed = (from: number, count: number) =>
      batchWriteAll(
        t.db,
        t.tableName,
        Array.from({ length: count }, (_, k) => {
          const i = from + k;
          const id = `evt_walk${String(i).padStart(6, '0')}`;
          // Pairs in the same millisecond: the id orders them, as in one partition.
          const occurredAt = new Date(base - Math.floor(i / 2) * 1000).toISOString();
          const event = { id, type: 'user.registered', occurredAt, data: { id: `u${i}` } };
          return {
            PutRequest: {
              Item: {
                ...Keys.outboundEvent(id),
                ...EventIndexKeys.event(occurredAt, id),
                entity: 'OutboundEvent',
                id,
                type: event.type,
                occurredAt,
                payload: JSON.stringify(event),
                ttl,
              },
            },
          };
        }),
      );
    const walk = async (limit: number) => {
      const ids: string[] = [];
      const costs: number[] = [];
      let cursor: string | undefined;
      do {
        const res = await t.api
          .get(`/api/v1/admin/events?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
          .set('authorization', admin.bearer)
          .expect(200);
        ids.push(...(res.body.items as { id: string }[]).map((e) => e.id));
        costs.push(dynamoCost(res).calls);
        cursor = res.body.nextCursor ?? undefined;
      } while (cursor);
      return { ids, costs };
    };
    // A scheduled post's held-back post.published (no GSI1 keys) is listed once sent, not before.
    const expected = async () =>
      (await t.allItems())
        .filter((i) => i.entity === 'OutboundEvent' && i.GSI1PK && Number(i.ttl) > epochSeconds(t.clock.now()))
        .sort((a, b) => (String(a.GSI1SK) < String(b.GSI1SK) ? 1 : -1))
        .map((e) => String(e.id));
    await seed(0, 30);
    const small = await walk(4);
    expect(small.ids).toEqual(await expected());
    // The guard's BatchGet and one Query per shard, in parallel, on every page.
    expect(new Set(small.costs)).toEqual(new Set([INDEX_SHARDS + 1]));
    await seed(30, 200);
    const large = await walk(25);
    expect(large.ids).toEqual(await expected());
    expect(new Set(large.costs)).toEqual(new Set([INDEX_SHARDS + 1]));
    const written = (await t.allItems()).filter((i) => String(i.id).startsWith('evt_walk'));
    expect(new Set(written.map((i) => i.GSI1PK))).toEqual(new Set(shardPartitions('EVENTS')));
  });

  it('sends post.published when a scheduled post’s time comes, once; none if withdrawn, deleted or its author suspended; one at a reschedule’s final time (session 22)', async () => {
    const [author, other] = [await signUp(t), await signUp(t)];
    const as = (user: SignedIn) => ({
      move: (id: string, action: 'publish' | 'unpublish', body: object = {}) =>
        t.api.post(`/api/v1/posts/${id}/${action}`).set('authorization', user.bearer).send(body).expect(200),
      edit: (id: string, body: object) =>
        t.api.patch(`/api/v1/posts/${id}`).set('authorization', user.bearer).send(body).expect(200),
    });
    const inSeconds = (s: number) => new Date(t.clock.now().getTime() + s * 1000).toISOString();
    const published = (r: Receiver, id: string) => got(r, id).filter((e) => e.type === 'post.published');
    const [soon, later] = [inSeconds(5), inSeconds(20)];
    const onTime = await createPost(author, 'On time');
    const withdrawn = await createPost(author, 'Withdrawn');
    const deleted = await createPost(author, 'Deleted');
    const moved = await createPost(author, 'Moved');
    const bounced = await createPost(author, 'Bounced');
    const suspended = await createPost(other, 'Suspended');
    for (const post of [onTime, withdrawn, deleted, moved, bounced])
      await as(author).move(post.id, 'publish', { publishAt: soon });
    await as(other).move(suspended.id, 'publish', { publishAt: soon });
    await processStream(t);
    // Before the time: the post.scheduled only; the held-back event is not listed for admins.
    await dispatcher().dispatchDue();
    expect(got(ok, onTime.id).map((e) => e.type)).toEqual(['post.scheduled']);
    const listedIds = async () =>
      (
        (await t.api.get('/api/v1/admin/events?limit=100').set('authorization', admin.bearer).expect(200)).body
          .items as { id: string }[]
      ).map((e) => e.id);
    expect(await listedIds()).not.toContain(deferredPublicationId(onTime.id, soon));
    await as(author).move(withdrawn.id, 'unpublish');
    await t.api.delete(`/api/v1/posts/${deleted.id}`).set('authorization', author.bearer).expect(204);
    await as(author).move(moved.id, 'publish', { publishAt: later });
    await as(author).edit(moved.id, { title: 'Moved, edited before its time' });
    await as(author).move(bounced.id, 'publish', { publishAt: later });
    await processStream(t);
    await as(author).move(bounced.id, 'publish', { publishAt: soon }); // back to its first time
    await processStream(t);
    // Suspended after its post was scheduled, before the processor took the post back to draft.
    await t.api
      .patch(`/api/v1/users/${other.userId}/status`)
      .set('authorization', admin.bearer)
      .send({ status: 'suspended' })
      .expect(200);

    t.clock.advance(10_000); // past `soon`
    await dispatcher().dispatchDue();
    expect(published(ok, onTime.id)).toEqual([
      {
        type: 'post.published',
        data: expect.objectContaining({
          id: onTime.id,
          slug: onTime.slug,
          title: 'On time',
          authorId: author.userId,
          publishedAt: soon,
          version: expect.any(Number),
        }),
      },
    ]);
    const sent = ok.calls.map(eventOf).find((e) => e.type === 'post.published' && e.data.id === onTime.id)!;
    expect(sent.occurredAt).toBe(soon);
    expect(published(publishedOnly, onTime.id)).toHaveLength(1);
    expect(published(ok, bounced.id)).toEqual([
      { type: 'post.published', data: expect.objectContaining({ publishedAt: soon }) },
    ]);
    for (const post of [withdrawn, deleted, moved, suspended]) expect(published(ok, post.id)).toEqual([]);
    // Their deliveries say what happened (session 23: each read "event gone").
    const delivery = async (post: { id: string }, at: string) =>
      (
        await t.db.send(
          new GetCommand({
            TableName: t.tableName,
            Key: Keys.webhookDelivery(deferredPublicationId(post.id, at), webhookTarget(ok.url)),
            ConsistentRead: true,
          }),
        )
      ).Item;
    expect(await delivery(withdrawn, soon)).toMatchObject({
      state: 'dropped',
      lastError: 'withdrawn: post unscheduled (draft) before its time',
    });
    expect(await delivery(deleted, soon)).toMatchObject({
      state: 'dropped',
      lastError: 'withdrawn: post deleted before its time',
    });
    expect(await delivery(moved, soon)).toMatchObject({
      lastError: 'withdrawn: post rescheduled or published at another time',
    });
    expect(await delivery(suspended, soon)).toMatchObject({ lastError: expect.stringMatching(/^withdrawn: /) });
    // Listed for admins once sent, at the post's time.
    expect(sent.id).toBe(deferredPublicationId(onTime.id, soon));
    expect((await listedIds()).filter((id) => id === sent.id)).toHaveLength(1);

    t.clock.advance(15_000); // past `later`
    await dispatcher().dispatchDue();
    expect(published(ok, moved.id)).toEqual([
      {
        type: 'post.published',
        data: expect.objectContaining({ title: 'Moved, edited before its time', publishedAt: later }),
      },
    ]);
    expect(published(ok, bounced.id)).toHaveLength(1);
    // The schedules handled again (a replay, db:stream-replay): nothing more goes out.
    await replayWholeStream();
    t.clock.advance(RETRY_MAX_MS);
    await dispatcher().dispatchDue();
    for (const post of [onTime, bounced, moved]) expect(published(ok, post.id)).toHaveLength(1);
    for (const post of [withdrawn, deleted, suspended]) expect(published(ok, post.id)).toEqual([]);
    expect(JSON.stringify(ok.calls.map(eventOf))).not.toMatch(/Suspended|Withdrawn/);
  });
});

describe('admin listings of events and dead deliveries: expired items left out, a short page filled (e2e, session 22)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A table of its own: the test needs to know every event and dead delivery it holds.
    t = await createTestApp(ADMIN_ENV);
  });
  afterAll(async () => {
    await t.close();
  });

  it('reads at most 2 more times for the missing count: full pages, empty with a cursor only after 3 reads found none', async () => {
    const admin = await signInAdmin(t);
    const now = epochSeconds(t.clock.now());
    const base = Date.parse('2026-05-01T00:00:00.000Z');
    // Newest first: 'live 1', 4 past their ttl (DynamoDB deletes them up to days later), 'live 0'.
    const names = ['live 0', 'expired 1', 'expired 2', 'expired 3', 'expired 4', 'live 1'];
    const items = names.flatMap((name, i) => {
      const id = `evt_ttl${i}`;
      const at = new Date(base + i * 1000).toISOString();
      const ttl = name.startsWith('live') ? now + 86_400 : now - 60;
      const target = 'https://receiver.example/hook';
      return [
        {
          ...Keys.outboundEvent(id),
          ...EventIndexKeys.event(at, id),
          entity: 'OutboundEvent',
          id,
          type: 'user.registered',
          occurredAt: at,
          payload: JSON.stringify({ id, type: 'user.registered', occurredAt: at, data: { id: name } }),
          ttl,
        },
        {
          ...Keys.webhookDelivery(id, target),
          ...EventIndexKeys.dead(at, id, target),
          entity: 'WebhookDelivery',
          eventId: id,
          eventType: 'user.registered',
          target,
          state: 'dead',
          attempts: 8,
          nextAttemptAt: at,
          failedAt: at,
          lastError: name,
          ttl,
        },
      ];
    });
    await batchWriteAll(
      t.db,
      t.tableName,
      items.map((Item) => ({ PutRequest: { Item } })),
    );
    const lists = [
      // The guard's BatchGetItem; a read: one Query per shard, or one Query.
      {
        path: '/api/v1/admin/events',
        read: INDEX_SHARDS,
        name: (e: Record<string, unknown>) => (e.data as { id: string }).id,
      },
      { path: '/api/v1/admin/webhooks/dead-letters', read: 1, name: (d: Record<string, unknown>) => d.lastError },
    ];
    for (const { path, read, name } of lists) {
      const page = async (limit: number, cursor?: string | null) =>
        listedPage(
          await t.api.get(path).query(pageQuery(limit, cursor)).set('authorization', admin.bearer).expect(200),
          name,
        );
      // A page of 3 reads 'live 1' and 2 expired, then the 2 missing (expired), then 2 again:
      // 'live 0', the last.
      expect({ path, ...(await page(3)) }).toEqual({
        path,
        items: ['live 1', 'live 0'],
        nextCursor: null,
        calls: 3 * read + 1,
      });
      await expectCappedPageOfOne(page, {
        first: 'live 1',
        firstCalls: read + 1,
        cappedCalls: 3 * read + 1,
        then: 'live 0',
      });
    }
  });
});

describe('webhooks: a receiver that never answers (e2e, review 20a L3)', () => {
  let t: TestApp;
  /** Accepts each call and never answers (until the test closes it). */
  const held: ServerResponse[] = [];
  const blackHole = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  const healthy = new Receiver(() => 204);
  const dispatcher = () => t.app.get(WebhookDispatcher);
  let blackHoleUrl = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}/hook`;
    await healthy.start();
    t = await createTestApp({
      WEBHOOK_URLS: [blackHoleUrl, healthy.url].join(','),
      WEBHOOK_SECRET: SECRET,
      // The longest allowed: only the test, by closing the black hole, ends its attempts.
      WEBHOOK_TIMEOUT_MS: '60000',
      WEBHOOK_RETRY_BASE_MS: '60000',
      WEBHOOK_RETRY_MAX_MS: '60000',
    });
    t.clock.set(t.clock.now());
  });
  afterAll(async () => {
    await t.close();
    await healthy.close();
    blackHole.closeAllConnections();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  it('holds at most 4 of its attempts in flight while every other delivery goes out', async () => {
    for (let i = 0; i < 20; i++) await signUp(t);
    await processStream(t);
    const events = (await t.allItems()).filter((item) => item.entity === 'OutboundEvent').length;
    expect(events).toBeGreaterThanOrEqual(20);
    const drained = dispatcher().dispatchDue();
    try {
      // Deliveries to both are interleaved in the due index; rounds of 25 waited for the black hole's.
      for (const until = Date.now() + 60_000; healthy.calls.length < events && Date.now() < until;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(healthy.calls).toHaveLength(events);
      expect(held).toHaveLength(WEBHOOK_IN_FLIGHT_PER_TARGET);
    } finally {
      // Its calls fail at once now (connection cut, then refused), each due again in a minute.
      blackHole.close();
      blackHole.closeAllConnections();
    }
    expect(await drained).toBe(2 * events);
    expect(held).toHaveLength(WEBHOOK_IN_FLIGHT_PER_TARGET);
  });
});
