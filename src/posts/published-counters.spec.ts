import { describe, expect, it } from '@jest/globals';
import type { PostSummary } from './post.entity.js';
import { publishedCountChanges } from './published-counters.js';

describe("publishedCountChanges: the author's day counts and their hints (review 12, L6)", () => {
  const now = new Date('2026-11-27T10:00:00.000Z');
  const post = (status: PostSummary['status'], publishedAt?: string): PostSummary => ({
    id: 'p1',
    authorId: 'a1',
    title: 't',
    slug: 't',
    excerpt: 't',
    tagIds: [],
    status,
    ...(publishedAt ? { publishedAt } : {}),
    viewCount: 0,
    likeCount: 0,
    commentCount: 0,
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    version: 1,
  });
  /** The author's `USER#POSTS` update: the attributes it adds to, with their deltas. */
  function authorAdds(before: PostSummary | undefined, after: PostSummary | undefined): Record<string, number> {
    const update = publishedCountChanges('t', before, after, now).find((op) => op.item.Update?.Key?.SK === 'USER#POSTS')
      ?.item.Update;
    if (!update) return {};
    const add = /ADD (.*?)( REMOVE|$)/.exec(String(update.UpdateExpression))?.[1] ?? '';
    const values = update.ExpressionAttributeValues as Record<string, number>;
    return Object.fromEntries(
      add.split(', ').map((clause) => {
        const [name, value] = clause.split(' ');
        return [name === '#counter' ? 'publishedCount' : name, values[value]];
      }),
    );
  }

  it('counts a post published now on its day and on p, and one scheduled ahead on q too', () => {
    expect(authorAdds(post('draft'), post('published', '2026-11-27T09:00:00.000Z'))).toEqual({
      publishedCount: 1,
      d20261127: 1,
      p20261127: 1,
    });
    expect(authorAdds(post('draft'), post('published', '2026-11-27T15:00:00.000Z'))).toEqual({
      publishedCount: 1,
      d20261127: 1,
      p20261127: 1,
      q20261127: 1,
    });
  });

  it('takes q off only for a post that leaves while still ahead (so q never falls below what is still scheduled)', () => {
    expect(authorAdds(post('published', '2026-11-27T15:00:00.000Z'), post('draft'))).toEqual({
      publishedCount: -1,
      d20261127: -1,
      p20261127: -1,
      q20261127: -1,
    });
    // Scheduled once, live now: its q stays (a hint only: at worst one Query too many today).
    expect(authorAdds(post('published', '2026-11-27T09:00:00.000Z'), post('draft'))).toEqual({
      publishedCount: -1,
      d20261127: -1,
      p20261127: -1,
    });
    // Rescheduled from today to tomorrow: each day's counts move, and the hints with them.
    expect(
      authorAdds(post('published', '2026-11-27T15:00:00.000Z'), post('published', '2026-11-28T15:00:00.000Z')),
    ).toEqual({
      d20261127: -1,
      p20261127: -1,
      q20261127: -1,
      d20261128: 1,
      p20261128: 1,
      q20261128: 1,
    });
  });
});
