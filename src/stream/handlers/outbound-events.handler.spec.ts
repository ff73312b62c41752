import { SettableClock } from '../../common/clock/clock.js';
import type { CommentsRepository } from '../../comments/comments.repository.js';
import type { Comment } from '../../comments/comment.entity.js';
import { commentImage } from '../../comments/comment.testing.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import { type DeferredPublication, deferredPublicationId } from '../../events/deferred-publication.js';
import type { EventsRepository } from '../../events/events.repository.js';
import type { OutboundEvent } from '../../events/outbound-event.js';
import type { WebhookDispatcher } from '../../events/webhook-dispatcher.js';
import type { PostSummary } from '../../posts/post.entity.js';
import type { PostsRepository } from '../../posts/posts.repository.js';
import { OutboundEventsHandler } from './outbound-events.handler.js';

const WRITTEN = '2026-11-27T08:00:00.000Z';
const LIVE_SINCE = '2026-11-26T08:00:00.000Z';
const AHEAD = '2026-12-01T09:00:00.000Z';

const summary = (over: Partial<PostSummary> = {}): PostSummary => ({
  id: 'p1',
  authorId: 'u1',
  authorUsername: 'ann',
  title: 'Before',
  slug: 'before',
  excerpt: 'e',
  tagIds: ['t1'],
  status: 'published',
  publishedAt: LIVE_SINCE,
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: LIVE_SINCE,
  updatedAt: LIVE_SINCE,
  version: 3,
  ...over,
});

const modify = (before: PostSummary, after: PostSummary): ItemChange => ({
  eventId: 'rec-1',
  event: 'MODIFY',
  key: { PK: 'POST#p1', SK: 'POST' },
  oldImage: { ...before },
  newImage: { ...after },
  sequenceNumber: '100',
  at: new Date(WRITTEN),
});

/** The handler with its stores faked: events as recorded, the post as `current` says it is now. */
function setUp(current: PostSummary | undefined, comment?: Partial<Comment>) {
  const recorded: { event: OutboundEvent; ownerId: string | undefined; deferred?: DeferredPublication }[] = [];
  const events = {
    record: (event: OutboundEvent, ownerId: string | undefined, _targets: unknown, _now: Date, deferred?: unknown) => {
      recorded.push({ event, ownerId, ...(deferred ? { deferred: deferred as DeferredPublication } : {}) });
      return Promise.resolve('stored');
    },
  } as unknown as EventsRepository;
  const dispatcher = { targetIds: () => ['hook'] } as unknown as WebhookDispatcher;
  const posts = { findSummary: () => Promise.resolve(current) } as unknown as PostsRepository;
  const comments = { findAtPath: () => Promise.resolve(comment) } as unknown as CommentsRepository;
  const clock = new SettableClock().set(WRITTEN);
  return { handler: new OutboundEventsHandler(events, dispatcher, posts, comments, clock), recorded };
}

describe('OutboundEventsHandler: edits (post.updated) and deletions', () => {
  const live = summary();
  const edited = summary({ title: 'After', tagIds: ['t1', 't2'], categoryId: 'c1', updatedAt: WRITTEN, version: 4 });

  it('stores post.updated for an edit of a live post, with the fields as the edit left them', async () => {
    const { handler, recorded } = setUp(edited);
    await handler.handle(modify(live, edited));
    expect(recorded).toEqual([
      {
        event: expect.objectContaining({
          type: 'post.updated',
          data: {
            id: 'p1',
            slug: 'before',
            title: 'After',
            excerpt: 'e',
            authorId: 'u1',
            authorUsername: 'ann',
            categoryId: 'c1',
            tagIds: ['t1', 't2'],
            publishedAt: LIVE_SINCE,
            version: 4,
            updatedAt: WRITTEN,
          },
        }),
        ownerId: 'u1',
      },
    ]);
  });

  it('stores nothing for an edit handled after the post was deleted, withdrawn or published again', async () => {
    for (const now of [
      undefined,
      summary({ status: 'draft', version: 5 }),
      summary({ publishedAt: '2026-11-28T08:00:00.000Z', version: 6 }),
    ]) {
      const { handler, recorded } = setUp(now);
      await handler.handle(modify(live, edited));
      expect(recorded).toEqual([]);
    }
  });

  it('drops an edit handled after a newer save of the post: the newer edit goes out, the older one sends nothing', async () => {
    // Two edits; the second (version 5) is saved before the first (version 4) is handled.
    const second = summary({ title: 'Fixed', updatedAt: WRITTEN, version: 5 });
    const { handler, recorded } = setUp(second);
    await handler.handle(modify(live, edited));
    expect(recorded).toEqual([]);
    await handler.handle({ ...modify(edited, second), eventId: 'rec-2' });
    expect(recorded.map((r) => [r.event.type, r.event.data.title, r.event.data.version])).toEqual([
      ['post.updated', 'Fixed', 5],
    ]);
    // The first again, handled last (a replayed dead letter): still nothing.
    await handler.handle(modify(live, edited));
    expect(recorded).toHaveLength(1);
  });

  it("announces an erasure's anonymisation of a live post as post.updated credited to deleted-user, naming no owner (session 22)", async () => {
    const anonymised = summary({ authorId: 'deleted-user', authorUsername: undefined, updatedAt: WRITTEN, version: 4 });
    const { handler, recorded } = setUp(anonymised);
    await handler.handle(modify(live, anonymised));
    expect(recorded).toEqual([
      {
        event: expect.objectContaining({
          type: 'post.updated',
          data: expect.objectContaining({ authorId: 'deleted-user', authorUsername: null, version: 4 }),
        }),
        ownerId: undefined,
      },
    ]);
    expect(JSON.stringify(recorded)).not.toContain('"u1"');
  });

  it('stores nothing for what is not an edit of a live post: a scheduled post, a rename, a publication change', async () => {
    const scheduled = summary({ publishedAt: AHEAD, updatedAt: LIVE_SINCE });
    const cases: [PostSummary, PostSummary][] = [
      // A scheduled post's edit: its content is not public yet.
      [scheduled, { ...scheduled, title: 'After', updatedAt: WRITTEN, version: 4 }],
      // The stream's copy of the author's new name: no version raised.
      [live, { ...live, authorUsername: 'anna', authorVersion: 2 }],
      // A status change (archived) is post.unpublished, not an edit.
      [live, { ...live, status: 'archived', updatedAt: WRITTEN, version: 4 }],
      // The author changes to anyone but deleted-user (no write does): not an edit.
      [live, { ...live, authorId: 'u2', updatedAt: WRITTEN, version: 4 }],
    ];
    for (const [before, after] of cases) {
      const { handler, recorded } = setUp(after);
      await handler.handle(modify(before, after));
      expect(recorded.filter((r) => r.event.type === 'post.updated')).toEqual([]);
    }
  });

  it('stores post.deleted with the slug of a post that was public, and ids only for a scheduled one', async () => {
    const removal = (before: PostSummary, at = WRITTEN): ItemChange => ({
      ...modify(before, before),
      event: 'REMOVE',
      newImage: undefined,
      at: new Date(at),
    });
    const deleted = async (change: ItemChange) => {
      const { handler, recorded } = setUp(undefined);
      await handler.handle(change);
      return recorded.map((r) => r.event.data);
    };
    // With the removed summary's version (its last save's), by which receivers order it.
    expect(await deleted(removal(live))).toEqual([{ id: 'p1', slug: 'before', version: 3 }]);
    const scheduled = summary({ publishedAt: AHEAD, updatedAt: LIVE_SINCE });
    expect(await deleted(removal(scheduled))).toEqual([{ id: 'p1', slug: null, version: 3 }]);
    // Scheduled at its last write, deleted after its time came: it was public.
    expect(await deleted(removal(scheduled, '2026-12-01T10:00:00.000Z'))).toEqual([
      { id: 'p1', slug: 'before', version: 3 },
    ]);
    expect(await deleted(removal(summary({ status: 'draft', version: 6 })))).toEqual([
      { id: 'p1', slug: null, version: 6 },
    ]);
    // Published at its last write by an instance whose clock runs ahead of the record's (to the
    // second): public all the same.
    const justOut = summary({ publishedAt: '2026-11-27T08:00:00.700Z', updatedAt: '2026-11-27T08:00:00.700Z' });
    expect(await deleted(removal(justOut))).toEqual([{ id: 'p1', slug: 'before', version: 3 }]);
  });
});

describe('OutboundEventsHandler: a scheduled post’s post.published, held back until its time (session 22)', () => {
  const draft = summary({ status: 'draft', publishedAt: undefined, version: 2 });
  const scheduled = summary({ publishedAt: AHEAD, updatedAt: WRITTEN, version: 3 });

  it('stores post.scheduled (ids and time) and the held-back post.published, owned by the author, with the post and its time', async () => {
    const { handler, recorded } = setUp(scheduled);
    await handler.handle(modify(draft, scheduled));
    expect(recorded).toEqual([
      {
        event: expect.objectContaining({ type: 'post.scheduled', data: { id: 'p1', publishedAt: AHEAD, version: 3 } }),
        ownerId: undefined,
      },
      {
        event: {
          id: deferredPublicationId('p1', AHEAD),
          type: 'post.published',
          occurredAt: AHEAD,
          data: { id: 'p1', publishedAt: AHEAD },
        },
        ownerId: 'u1',
        deferred: { postId: 'p1', publishedAt: AHEAD, authorId: 'u1' },
      },
    ]);
    // Another record scheduling the same post for the same time holds back the same event.
    await handler.handle({ ...modify(draft, scheduled), eventId: 'rec-2' });
    expect(recorded[3].event.id).toBe(recorded[1].event.id);
    expect(recorded[2].event.id).not.toBe(recorded[0].event.id);
  });

  it('for migration 0015’s mark on a post scheduled before session 22, stores only the held-back post.published', async () => {
    const old = summary({ publishedAt: AHEAD, updatedAt: LIVE_SINCE, version: 3 });
    const marked = { ...old, publicationHeldBack: AHEAD } as PostSummary;
    const { handler, recorded } = setUp(marked);
    await handler.handle(modify(old, marked));
    expect(recorded).toEqual([
      {
        event: expect.objectContaining({ id: deferredPublicationId('p1', AHEAD), type: 'post.published' }),
        ownerId: 'u1',
        deferred: { postId: 'p1', publishedAt: AHEAD, authorId: 'u1' },
      },
    ]);
    // Handled after the post was withdrawn or rescheduled: nothing (the re-check of post.scheduled).
    const late = setUp(summary({ status: 'draft', publishedAt: undefined }));
    await late.handler.handle(modify(old, marked));
    expect(late.recorded).toEqual([]);
    // The mark written again, or left on the post by a later save: nothing.
    const again = setUp(marked);
    await again.handler.handle(modify(marked, { ...marked, title: 'Same schedule' }));
    expect(again.recorded).toEqual([]);
  });

  it('holds nothing back for an immediate publication, nor for a schedule handled after the post was moved', async () => {
    const live = summary({ publishedAt: WRITTEN, updatedAt: WRITTEN });
    const now = setUp(live);
    await now.handler.handle(modify(draft, live));
    expect(now.recorded.map((r) => [r.event.type, r.deferred])).toEqual([['post.published', undefined]]);
    // Handled after a reschedule (or a withdrawal): the newer record's own event stands.
    for (const current of [summary({ publishedAt: '2026-12-02T09:00:00.000Z' }), draft, undefined]) {
      const late = setUp(current);
      await late.handler.handle(modify(draft, scheduled));
      expect(late.recorded).toEqual([]);
    }
  });
});

describe('OutboundEventsHandler: an erasure’s anonymisation of a comment (comment.updated, session 23)', () => {
  const comment = commentImage({ createdAt: LIVE_SINCE, updatedAt: LIVE_SINCE });
  const anonymised = { ...comment, authorId: 'deleted-user', authorUsername: undefined, updatedAt: WRITTEN };
  const change: ItemChange = {
    eventId: 'rec-c',
    event: 'MODIFY',
    key: { PK: 'POST#p1', SK: 'COMMENT#x' },
    oldImage: { ...comment },
    newImage: { ...anonymised },
    sequenceNumber: '101',
    at: new Date(WRITTEN),
  };

  it('stores it without an owner while the comment is there, its text only while approved; nothing once deleted or gone', async () => {
    const stored = async (current: Partial<Comment> | undefined) => {
      const { handler, recorded } = setUp(undefined, current);
      await handler.handle(change);
      return recorded;
    };
    expect(await stored(anonymised)).toEqual([
      {
        event: expect.objectContaining({
          type: 'comment.updated',
          data: expect.objectContaining({ id: 'c1', authorId: 'deleted-user', authorUsername: null, content: 'hello' }),
        }),
        ownerId: undefined,
      },
    ]);
    const rejected = await stored({ ...anonymised, status: 'rejected' });
    expect(rejected[0].event.data).toMatchObject({ status: 'rejected', content: null });
    expect(await stored({ ...anonymised, deleted: true })).toEqual([]);
    expect(await stored(undefined)).toEqual([]);
  });
});
