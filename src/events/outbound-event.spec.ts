import type { ItemChange } from '../dynamo/stream-record.js';
import { commentImage } from '../comments/comment.testing.js';
import { outboundEventOf, withoutOwner } from './outbound-event.js';

const change = (over: Partial<ItemChange>): ItemChange => ({
  eventId: 'abc',
  event: 'MODIFY',
  key: { PK: 'POST#p1', SK: 'POST' },
  oldImage: undefined,
  newImage: undefined,
  sequenceNumber: '100',
  at: new Date('2026-11-26T08:00:00Z'),
  ...over,
});

/** `post.published`'s and `post.updated`'s data: `version` and `updatedAt` order them (review 21b L-a). */
const POST_DATA_KEYS = [
  'authorId',
  'authorUsername',
  'categoryId',
  'excerpt',
  'id',
  'publishedAt',
  'slug',
  'tagIds',
  'title',
  'updatedAt',
  'version',
];

const post = { id: 'p1', slug: 's', title: 'T', excerpt: 'e', authorId: 'u1', tagIds: ['t1'], passwordHash: 'x' };

describe('outboundEventOf', () => {
  it('gives the same id for the same record and another for another record', () => {
    const published = { ...post, status: 'published', publishedAt: '2026-11-26T08:00:00.000Z' };
    const a = outboundEventOf(change({ oldImage: { ...post, status: 'draft' }, newImage: published }), 'post');
    const b = outboundEventOf(change({ oldImage: { ...post, status: 'draft' }, newImage: published }), 'post');
    const c = outboundEventOf(change({ eventId: 'abd', newImage: published }), 'post');
    expect(a?.event.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(a?.event.id).toBe(b?.event.id);
    expect(c?.event.id).not.toBe(a?.event.id);
  });

  it('maps a publication with public fields only, and a change of a published post without a version raised to nothing', () => {
    const published = { ...post, status: 'published', publishedAt: '2026-11-26T08:00:00.000Z' };
    const mapped = outboundEventOf(change({ oldImage: { ...post, status: 'draft' }, newImage: published }), 'post');
    expect(mapped?.event).toMatchObject({ type: 'post.published', occurredAt: '2026-11-26T08:00:00.000Z' });
    expect(Object.keys(mapped!.event.data).sort()).toEqual(POST_DATA_KEYS);
    expect(mapped?.ownerId).toBe('u1');
    expect(outboundEventOf(change({ oldImage: published, newImage: { ...published, title: 'U' } }), 'post')).toBe(
      undefined,
    );
  });

  it('maps a deletion (the slug only of a published post), comments and registrations', () => {
    // The removed summary's version (its last save's): receivers order the deletion by it.
    const removed = outboundEventOf(
      change({ event: 'REMOVE', oldImage: { ...post, status: 'draft', version: 7 } }),
      'post',
    );
    expect(removed?.event).toMatchObject({ type: 'post.deleted' });
    expect(removed?.event.data).toEqual({ id: 'p1', slug: null, version: 7 });
    const comment = outboundEventOf(
      change({
        event: 'INSERT',
        key: { PK: 'POST#p1', SK: 'COMMENT#x' },
        newImage: { id: 'c1', postId: 'p1', authorId: 'u2', status: 'pending', content: 'hidden', createdAt: 'now' },
      }),
      'comment',
    );
    expect(comment?.event).toMatchObject({ type: 'comment.created', data: { id: 'c1', content: null } });
    const user = outboundEventOf(
      change({
        event: 'INSERT',
        key: { PK: 'USER#u3', SK: 'USER' },
        newImage: { id: 'u3', username: 'ann', email: 'ann@example.com', passwordHash: 'h', createdAt: 'now' },
      }),
      'user',
    );
    expect(user?.event.data).toEqual({ id: 'u3', username: 'ann', createdAt: 'now' });
    expect(outboundEventOf(change({ event: 'MODIFY', newImage: { id: 'u3' } }), 'user')).toBe(undefined);
  });

  it('maps a change of username to user.renamed (id, username, version), and no other change of a user (session 22)', () => {
    const user = {
      id: 'u3',
      username: 'ann',
      email: 'ann@example.com',
      firstName: 'Ann',
      role: 'user',
      status: 'active',
      loginCount: 1,
      passwordHash: 'h',
      version: 4,
    };
    const modify = (after: Record<string, unknown>) =>
      outboundEventOf(
        change({ key: { PK: 'USER#u3', SK: 'USER' }, oldImage: user, newImage: { ...user, ...after } }),
        'user',
      );
    const renamed = modify({ username: 'anna', version: 5 });
    expect(renamed?.event.type).toBe('user.renamed');
    expect(renamed?.event.data).toEqual({ id: 'u3', username: 'anna', version: 5 });
    expect(renamed?.ownerId).toBe('u3');
    // Sign-in bookkeeping, counters, role, status, email, names: nothing.
    for (const after of [
      { lastLoginAt: 'now', loginCount: 2, sessionEpoch: 3 },
      { role: 'admin', version: 5 },
      { status: 'inactive', deletedAt: 'now', version: 5 },
      { email: 'new@example.com', emailGeneration: 1, version: 5 },
      { firstName: 'Anne', lastName: 'B', version: 5 },
      { passwordHash: 'h2', passwordGeneration: 1, version: 5 },
    ]) {
      expect(modify(after)).toBe(undefined);
    }
    // An erasure (the user item removed) names no erased id: nothing at the user's level.
    expect(
      outboundEventOf(change({ event: 'REMOVE', key: { PK: 'USER#u3', SK: 'USER' }, oldImage: user }), 'user'),
    ).toBe(undefined);
    // Handled after the user's erasure: dropped, as a registration is.
    expect(withoutOwner(renamed!.event)).toBe(undefined);
  });

  it('keeps no id of an erased owner: a registration is dropped, a post or comment event loses its author', () => {
    const published = { ...post, status: 'published', authorUsername: 'ann', publishedAt: '2026-11-26T08:00:00.000Z' };
    const mapped = outboundEventOf(change({ oldImage: { ...post, status: 'draft' }, newImage: published }), 'post')!;
    const anonymous = withoutOwner(mapped.event)!;
    expect(anonymous).toMatchObject({ id: mapped.event.id, data: { id: 'p1', authorId: null, authorUsername: null } });
    expect(JSON.stringify(anonymous)).not.toMatch(/u1|ann/);
    const user = outboundEventOf(
      change({ event: 'INSERT', key: { PK: 'USER#u3', SK: 'USER' }, newImage: { id: 'u3', username: 'ann' } }),
      'user',
    )!;
    expect(withoutOwner(user.event)).toBe(undefined);
  });

  it('maps an edit of a published post (version raised) to post.updated with the fields of post.published', () => {
    const live = { ...post, status: 'published', publishedAt: '2026-11-25T08:00:00.000Z', version: 2 };
    const edit = { ...live, title: 'U', updatedAt: '2026-11-26T08:00:00.000Z', version: 3 };
    const mapped = outboundEventOf(change({ oldImage: live, newImage: edit }), 'post');
    // The summary's version and save time: a mirror keeps the highest version per post (review 21b L-a).
    expect(mapped?.event).toMatchObject({
      type: 'post.updated',
      data: { id: 'p1', title: 'U', slug: 's', version: 3, updatedAt: '2026-11-26T08:00:00.000Z' },
    });
    expect(Object.keys(mapped!.event.data).sort()).toEqual(POST_DATA_KEYS);
    expect(mapped?.ownerId).toBe('u1');
    // A post scheduled at its last write whose time has come by this edit: it is out, so announced.
    const due = { ...live, publishedAt: '2026-11-26T07:00:00.000Z' };
    expect(
      outboundEventOf(change({ oldImage: due, newImage: { ...due, ...edit, publishedAt: due.publishedAt } }), 'post')
        ?.event.type,
    ).toBe('post.updated');
    // An INSERT is never an edit.
    expect(outboundEventOf(change({ event: 'INSERT', newImage: edit }), 'post')?.event.type).toBe('post.published');
  });

  it('maps an erasure’s anonymisation of a comment to comment.updated with no owner; no other change of a comment (session 23)', () => {
    const key = { PK: 'POST#p1', SK: 'COMMENT#x' };
    const comment = { ...commentImage({ authorName: 'Bob B' }), version: 2 };
    const modify = (after: Record<string, unknown>) =>
      outboundEventOf(change({ key, oldImage: comment, newImage: { ...comment, ...after } }), 'comment');
    const anonymised = { authorId: 'deleted-user', authorUsername: undefined, authorName: undefined, updatedAt: 'now' };
    const mapped = modify(anonymised);
    expect(mapped?.event).toMatchObject({ type: 'comment.updated' });
    expect(mapped?.event.data).toEqual({
      id: 'c1',
      postId: 'p1',
      parentId: null,
      authorId: 'deleted-user',
      authorUsername: null,
      status: 'approved',
      content: 'hello',
      createdAt: 'then',
      updatedAt: 'now',
    });
    // The erased id is in no event: not as the owner, not in the data.
    expect(mapped?.ownerId).toBe(undefined);
    expect(JSON.stringify(mapped)).not.toMatch(/u2|bob|Bob/);
    // A pending comment's text stays out.
    expect(modify({ ...anonymised, status: 'pending' })?.event.data.content).toBe(null);
    // An edit, a moderation, a deletion, a like, the rename's copy, an anonymised comment written again: nothing.
    for (const after of [
      { content: 'edited', editedAt: 'now', version: 3 },
      { status: 'rejected', version: 3 },
      { deleted: true, authorId: undefined, content: undefined, version: 3 },
      { likeCount: 4 },
      { authorUsername: 'bobby', authorVersion: 5 },
    ]) {
      expect(modify(after)).toBe(undefined);
    }
    const again = { ...comment, ...anonymised };
    expect(outboundEventOf(change({ key, oldImage: again, newImage: again }), 'comment')).toBe(undefined);
  });

  describe('a scheduled post and a withdrawal (review 20a L4)', () => {
    const WRITTEN = '2026-11-26T08:00:00.000Z';
    const AHEAD = '2026-12-01T09:00:00.000Z';
    const draft = { ...post, status: 'draft', updatedAt: WRITTEN };
    const scheduled = { ...post, status: 'published', publishedAt: AHEAD, updatedAt: WRITTEN };
    const live = { ...post, status: 'published', publishedAt: '2026-11-25T08:00:00.000Z', updatedAt: WRITTEN };

    it('announces a post scheduled ahead of its write with its id, time and version only, no content', () => {
      const mapped = outboundEventOf(change({ oldImage: draft, newImage: { ...scheduled, version: 4 } }), 'post');
      expect(mapped?.event).toMatchObject({ type: 'post.scheduled' });
      expect(mapped?.event.data).toEqual({ id: 'p1', publishedAt: AHEAD, version: 4 });
      expect(mapped?.ownerId).toBe(undefined);
      // Rescheduled: scheduled again; published now instead: post.published, with its content.
      const later = { ...scheduled, publishedAt: '2026-12-02T09:00:00.000Z' };
      expect(outboundEventOf(change({ oldImage: scheduled, newImage: later }), 'post')?.event.type).toBe(
        'post.scheduled',
      );
      const now = { ...scheduled, publishedAt: WRITTEN };
      const published = outboundEventOf(change({ oldImage: scheduled, newImage: now }), 'post');
      expect(published?.event).toMatchObject({ type: 'post.published', data: { title: 'T', publishedAt: WRITTEN } });
    });

    it('announces a published post unpublished or archived with id, slug and new status; a scheduled one without its slug', () => {
      // The version of the save that withdrew it, above the publication's: receivers order by it.
      const unpublished = outboundEventOf(
        change({ oldImage: { ...live, version: 2 }, newImage: { ...draft, version: 3 } }),
        'post',
      );
      expect(unpublished?.event).toMatchObject({ type: 'post.unpublished' });
      expect(unpublished?.event.data).toEqual({ id: 'p1', slug: 's', status: 'draft', version: 3 });
      const archived = outboundEventOf(
        change({ oldImage: live, newImage: { ...live, status: 'archived', version: 5 } }),
        'post',
      );
      expect(archived?.event.data).toEqual({ id: 'p1', slug: 's', status: 'archived', version: 5 });
      const withdrawn = outboundEventOf(change({ oldImage: scheduled, newImage: draft }), 'post');
      expect(withdrawn?.event.data).toEqual({ id: 'p1', slug: null, status: 'draft', version: null });
      // A draft archived was never published: nothing.
      expect(outboundEventOf(change({ oldImage: draft, newImage: { ...draft, status: 'archived' } }), 'post')).toBe(
        undefined,
      );
    });
  });
});
