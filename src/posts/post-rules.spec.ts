import { refusalOf } from '../common/errors/refusal.testing.js';
import type { PostSummary } from './post.entity.js';
import { assertMayManagePost, canSeePost, editChangesNothing, postTransition } from './post-rules.js';

const NOW = new Date('2026-05-15T12:00:00.000Z');
const PAST = '2026-05-15T11:00:00.000Z';
const FUTURE = '2026-05-15T13:00:00.000Z';

const draft = { status: 'draft' as const, publishedAt: undefined, authorId: 'author' };
const live = { status: 'published' as const, publishedAt: PAST, authorId: 'author' };
const scheduled = { status: 'published' as const, publishedAt: FUTURE, authorId: 'author' };
const archived = { status: 'archived' as const, publishedAt: PAST, authorId: 'author' };

describe('postTransition', () => {
  it('publishes a draft now: published, at the clock', () => {
    expect(postTransition(draft, { to: 'published' }, NOW)).toEqual({
      status: 'published',
      publishedAt: NOW.toISOString(),
    });
  });

  it('schedules a draft: published with a future publishedAt', () => {
    expect(postTransition(draft, { to: 'published', publishAt: FUTURE }, NOW)).toEqual({
      status: 'published',
      publishedAt: FUTURE,
    });
  });

  it('republishes an archived post and reschedules a scheduled one', () => {
    expect(postTransition(archived, { to: 'published' }, NOW)).toEqual({
      status: 'published',
      publishedAt: NOW.toISOString(),
    });
    const later = '2026-05-16T09:30:00.000Z';
    expect(postTransition(scheduled, { to: 'published', publishAt: later }, NOW)).toEqual({
      status: 'published',
      publishedAt: later,
    });
  });

  it('normalises publishAt to an ISO instant', () => {
    expect(postTransition(draft, { to: 'published', publishAt: '2026-05-15T15:00:00+02:00' }, NOW).publishedAt).toBe(
      '2026-05-15T13:00:00.000Z',
    );
  });

  it('refuses to publish a live post again: 409 invalid_transition', async () => {
    expect(await refusalOf(() => postTransition(live, { to: 'published' }, NOW))).toBe('409 invalid_transition');
    expect(await refusalOf(() => postTransition(live, { to: 'published', publishAt: FUTURE }, NOW))).toBe(
      '409 invalid_transition',
    );
  });

  it('a scheduled post becomes live at its time, and from then cannot be published again', async () => {
    expect(await refusalOf(() => postTransition(scheduled, { to: 'published' }, new Date(FUTURE)))).toBe(
      '409 invalid_transition',
    );
    expect(
      await refusalOf(() => postTransition(scheduled, { to: 'published' }, new Date(Date.parse(FUTURE) - 1))),
    ).toBe('allowed');
  });

  it('refuses a publishAt that is not a date: 400 validation_failed, before the status check', async () => {
    expect(await refusalOf(() => postTransition(draft, { to: 'published', publishAt: 'tomorrow' }, NOW))).toBe(
      '400 validation_failed',
    );
    expect(await refusalOf(() => postTransition(live, { to: 'published', publishAt: 'tomorrow' }, NOW))).toBe(
      '400 validation_failed',
    );
  });

  it('unpublishes a live, scheduled or archived post: draft, out of the feeds (publishedAt removed)', () => {
    for (const post of [live, scheduled, archived]) {
      const change = postTransition(post, { to: 'draft' }, NOW);
      expect(change).toEqual({ status: 'draft', publishedAt: undefined });
      expect(Object.keys(change)).toContain('publishedAt');
    }
  });

  it('refuses to unpublish a draft: 409 invalid_transition', async () => {
    expect(await refusalOf(() => postTransition(draft, { to: 'draft' }, NOW))).toBe('409 invalid_transition');
  });

  it('archives a draft, live or scheduled post, keeping publishedAt', () => {
    for (const post of [draft, live, scheduled]) {
      const change = postTransition(post, { to: 'archived' }, NOW);
      expect(change).toEqual({ status: 'archived' });
      expect(Object.keys(change)).not.toContain('publishedAt');
    }
  });

  it('refuses to archive an archived post: 409 invalid_transition', async () => {
    expect(await refusalOf(() => postTransition(archived, { to: 'archived' }, NOW))).toBe('409 invalid_transition');
  });
});

describe('who sees and who changes a post', () => {
  const author = { userId: 'author', role: 'user' as const };
  const other = { userId: 'other', role: 'user' as const };
  const moderator = { userId: 'mod', role: 'moderator' as const };
  const admin = { userId: 'admin', role: 'admin' as const };

  it('a live post is public; others are for their author and staff', () => {
    expect(canSeePost(live, undefined, NOW)).toBe(true);
    for (const post of [draft, scheduled, archived]) {
      expect([undefined, other, author, moderator, admin].map((viewer) => canSeePost(post, viewer, NOW))).toEqual([
        false,
        false,
        true,
        true,
        true,
      ]);
    }
  });

  it('the author and admins change a post; moderators only where deletion allows them', async () => {
    expect(await refusalOf(() => assertMayManagePost(live, author, NOW, false))).toBe('allowed');
    expect(await refusalOf(() => assertMayManagePost(live, admin, NOW, false))).toBe('allowed');
    expect(await refusalOf(() => assertMayManagePost(live, moderator, NOW, false))).toBe('403 not_post_author');
    expect(await refusalOf(() => assertMayManagePost(live, moderator, NOW, true))).toBe('allowed');
    expect(await refusalOf(() => assertMayManagePost(live, other, NOW, true))).toBe('403 not_post_author');
  });

  it('a post the viewer cannot see, or none, is 404 post_not_found (existence does not leak)', async () => {
    expect(await refusalOf(() => assertMayManagePost(draft, other, NOW, false))).toBe('404 post_not_found');
    expect(await refusalOf(() => assertMayManagePost(undefined, admin, NOW, true))).toBe('404 post_not_found');
  });
});

describe('editChangesNothing (session 22: an empty PATCH sent post.updated)', () => {
  const summary: PostSummary = {
    id: 'p1',
    authorId: 'author',
    title: 'Title',
    slug: 'title',
    excerpt: 'e',
    tagIds: ['t1', 't2'],
    status: 'published',
    publishedAt: PAST,
    viewCount: 3,
    likeCount: 1,
    commentCount: 0,
    createdAt: PAST,
    updatedAt: PAST,
    version: 4,
  };
  const before = { ...summary, content: 'body' };
  const saved = (change: Partial<PostSummary>): PostSummary => ({
    ...summary,
    ...change,
    updatedAt: NOW.toISOString(),
  });

  it('is true for the same fields and body, whatever the save time', () => {
    expect(editChangesNothing(before, saved({}), 'body')).toBe(true);
    // A field absent before and written as undefined (no category, none set) is no change.
    expect(editChangesNothing(before, saved({ categoryId: undefined }), 'body')).toBe(true);
  });

  it('is false for any field changed, tags reordered, a category or image set, or another body', () => {
    expect(editChangesNothing(before, saved({ title: 'Other' }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ slug: 'other' }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ excerpt: 'f' }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ tagIds: ['t2', 't1'] }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ tagIds: ['t1'] }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ categoryId: 'c1' }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({ featuredImageUrl: 'https://example.com/a.png' }), 'body')).toBe(false);
    expect(editChangesNothing(before, saved({}), 'new body')).toBe(false);
    // A field no edit sets today counts too: a field added to edits later is never taken for no change.
    expect(editChangesNothing(before, { ...saved({}), status: 'archived' }, 'body')).toBe(false);
  });
});
