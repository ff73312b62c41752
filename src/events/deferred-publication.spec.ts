import type { Item } from '../dynamo/stream-record.js';
import { deferredPublicationId, deferredPublicationOf, publicationAt } from './deferred-publication.js';
import type { MappedEvent } from './outbound-event.js';

const AT = '2026-12-01T09:00:00.000Z';
const held = { postId: 'p1', publishedAt: AT, authorId: 'u1' };
const post = (over: Item = {}): Item => ({
  id: 'p1',
  slug: 'edited-title',
  title: 'Edited title',
  excerpt: 'e',
  authorId: 'u1',
  authorUsername: 'ann',
  tagIds: ['t1'],
  status: 'published',
  publishedAt: AT,
  version: 5,
  updatedAt: '2026-11-30T10:00:00.000Z',
  ...over,
});
const scheduled = (data: MappedEvent['event']['data']): MappedEvent => ({
  event: { id: 'evt_x', type: 'post.scheduled', occurredAt: '2026-11-27T08:00:00.000Z', data },
  ownerId: undefined,
});

describe('a scheduled post’s held-back post.published', () => {
  it('has one id per post and time, whichever record scheduled it', () => {
    expect(deferredPublicationId('p1', AT)).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(deferredPublicationId('p1', AT)).toBe(deferredPublicationId('p1', AT));
    expect(deferredPublicationId('p1', '2026-12-01T09:00:01.000Z')).not.toBe(deferredPublicationId('p1', AT));
    expect(deferredPublicationId('p2', AT)).not.toBe(deferredPublicationId('p1', AT));
  });

  it('is held back by a post.scheduled only, saying no more than it until the time', () => {
    expect(deferredPublicationOf(scheduled({ id: 'p1', publishedAt: AT }), 'u1')).toEqual({
      mapped: {
        event: {
          id: deferredPublicationId('p1', AT),
          type: 'post.published',
          occurredAt: AT,
          data: { id: 'p1', publishedAt: AT },
        },
        ownerId: 'u1',
      },
      deferred: held,
    });
    const published: MappedEvent = { ...scheduled({ id: 'p1', publishedAt: AT }), ownerId: 'u1' };
    published.event = { ...published.event, type: 'post.published' };
    expect(deferredPublicationOf(published, 'u1')).toBeUndefined();
    expect(deferredPublicationOf(scheduled({ id: 'p1', publishedAt: null }), 'u1')).toBeUndefined();
  });

  it('sends the post as it is at its time: the fields and version of an edit made before it', () => {
    expect(publicationAt('evt_1', held, post())).toEqual({
      event: {
        id: 'evt_1',
        type: 'post.published',
        occurredAt: AT,
        // Every field of an immediate publication's, as the post is now (no category: null).
        data: { ...post(), status: undefined, categoryId: null },
      },
    });
  });

  it('sends nothing for a post deleted, withdrawn, rescheduled or anonymised before its time', () => {
    // Each says what happened (session 23), for the deliveries' lastError.
    expect(publicationAt('evt_1', held, undefined)).toEqual({ withdrawn: 'post deleted before its time' });
    expect(publicationAt('evt_1', held, post({ status: 'draft' }))).toEqual({
      withdrawn: 'post unscheduled (draft) before its time',
    });
    expect(publicationAt('evt_1', held, post({ status: 'archived' }))).toEqual({
      withdrawn: 'post unscheduled (archived) before its time',
    });
    expect(publicationAt('evt_1', held, post({ publishedAt: '2026-12-02T09:00:00.000Z' }))).toEqual({
      withdrawn: 'post rescheduled or published at another time',
    });
    // Published at once instead (an earlier time): that publication's own event stands.
    expect(publicationAt('evt_1', held, post({ publishedAt: '2026-11-29T09:00:00.000Z' }))).toHaveProperty('withdrawn');
    expect(publicationAt('evt_1', held, post({ authorId: 'deleted-user' }))).toHaveProperty('withdrawn');
  });
});
