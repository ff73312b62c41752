import { effectiveStatus, type PostSummary } from './post.entity.js';
import { PostMapper } from './post.mapper.js';

// Between a hot comment's deletion (its -1 on the counter item, at once) and the stream's fold of
// the comment shard that counted it (+1), the stored parts sum below the truth (review 13, L-b3).
describe('PostMapper counts', () => {
  const post: PostSummary = {
    id: 'p',
    authorId: 'a',
    title: 't',
    slug: 't',
    excerpt: '',
    tagIds: [],
    status: 'published',
    publishedAt: '2026-11-27T08:00:00.000Z',
    viewCount: 3,
    likeCount: -1,
    commentCount: -2,
    createdAt: '2026-11-27T08:00:00.000Z',
    updatedAt: '2026-11-27T08:00:00.000Z',
    version: 1,
  };
  const now = new Date('2026-11-27T09:00:00Z');

  it('never shows a count below 0', () => {
    expect(PostMapper.summary(post, now)).toMatchObject({ viewCount: 3, likeCount: 0, commentCount: 0 });
    expect(PostMapper.full({ ...post, content: 'x' }, true, now)).toMatchObject({ likeCount: 0, commentCount: 0 });
  });

  it('shows a count at or above 0 as it is', () => {
    expect(PostMapper.summary({ ...post, likeCount: 0, commentCount: 7 }, now)).toMatchObject({
      likeCount: 0,
      commentCount: 7,
    });
  });
});

describe('effectiveStatus', () => {
  const post = { status: 'published' as const, publishedAt: '2026-11-27T09:00:00.000Z' };

  it('is scheduled until publishedAt, published from then, for each instant asked in turn', () => {
    const before = new Date('2026-11-27T08:59:59.999Z');
    const at = new Date('2026-11-27T09:00:00.000Z');
    expect([before, at, before, before, at].map((now) => effectiveStatus(post, now))).toEqual([
      'scheduled',
      'published',
      'scheduled',
      'scheduled',
      'published',
    ]);
  });

  it('follows a Date moved in place (the same object at another instant)', () => {
    const now = new Date('2026-11-27T08:00:00.000Z');
    expect(effectiveStatus(post, now)).toBe('scheduled');
    now.setTime(Date.parse('2026-11-27T10:00:00.000Z'));
    expect(effectiveStatus(post, now)).toBe('published');
  });
});
