import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../common/clock/clock.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import type { PostSummary } from '../posts/post.entity.js';
import { PostsRepository } from '../posts/posts.repository.js';
import { FeedService } from './feed.service.js';
import { type CandidatePage, TimelineRepository } from './timeline.repository.js';

const NOW = '2026-11-26T12:00:00.000Z';
const FIRST_PUBLICATION = '2026-11-20T08:00:00.000Z';
const REPUBLISHED = '2026-11-25T08:00:00.000Z';

const cursors = new CursorCodec('feed-spec-secret');
/** A cursor of the reader's feed that continues below `position` (a later page). */
const below = (position: string) => cursors.encode({ before: position }, 'feed|reader') ?? undefined;

const post: PostSummary = {
  id: 'p1',
  authorId: 'author',
  title: 'Republished',
  slug: 'republished',
  excerpt: '',
  tagIds: [],
  status: 'published',
  publishedAt: REPUBLISHED,
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: FIRST_PUBLICATION,
  updatedAt: REPUBLISHED,
  version: 3,
};

/** The service over fakes of its repositories (at their classes' tokens), with the clock at NOW. */
async function feedServiceOver(timeline: object, follows: object, posts: object): Promise<FeedService> {
  const module = await Test.createTestingModule({
    providers: [
      FeedService,
      { provide: TimelineRepository, useValue: timeline },
      { provide: FollowsRepository, useValue: follows },
      { provide: PostsRepository, useValue: posts },
      { provide: CursorCodec, useValue: cursors },
      { provide: CLOCK, useValue: new SettableClock().set(NOW) },
    ],
  }).compile();
  return module.get(FeedService);
}

/**
 * The reader's timeline still holds the entry of the post's first publication: the author was
 * promoted to fan-in after it was fanned out, so its unpublication withdrew nothing (review-2 #14).
 * The fan-in source has the republished post at its new position.
 */
async function feedWith(timelineEntries: CandidatePage['candidates']): Promise<FeedService> {
  const timeline: Pick<TimelineRepository, 'page'> = {
    page: (_reader, before) =>
      Promise.resolve({ candidates: timelineEntries.filter((c) => c.position < before), more: false }),
  };
  const follows: Pick<FollowsRepository, 'counts'> = {
    counts: () => Promise.resolve({ followerCount: 0, followingCount: 1, fanIn: false, fanInAuthors: ['author'] }),
  };
  const posts: Pick<PostsRepository, 'publishedPositions' | 'findSummariesWith'> = {
    publishedPositions: (authorId, before) => {
      const position = `${post.publishedAt}#${post.id}`;
      return Promise.resolve({
        candidates: position < before ? [{ position, postId: post.id, authorId }] : [],
        more: false,
      });
    },
    findSummariesWith: (postIds) =>
      Promise.resolve({
        summaries: postIds.includes(post.id) ? [post] : [],
        extra: [{ authorId: 'author' }],
      }),
  };
  return feedServiceOver(timeline, follows, posts);
}

describe('FeedService', () => {
  it('shows a republished post once: a timeline entry at its old position is dropped', async () => {
    const feed = await feedWith([{ position: `${FIRST_PUBLICATION}#p1`, postId: 'p1', authorId: 'author' }]);
    // The first page has the post at its new position (from the fan-in source)...
    expect((await feed.page('reader', 10)).items.map((item) => item.id)).toEqual(['p1']);
    // ...and a later page, which reads below it, must not show it again from the stale entry.
    const later = await feed.page('reader', 10, below('2026-11-22T00:00:00.000Z#~'));
    expect(later.items).toEqual([]);
  });

  it('still shows a timeline entry whose position is the post’s current one', async () => {
    const feed = await feedWith([{ position: `${REPUBLISHED}#p1`, postId: 'p1', authorId: 'author' }]);
    expect((await feed.page('reader', 10)).items.map((item) => item.id)).toEqual(['p1']);
  });
});

/**
 * A feed whose timeline and fan-in author both hold places: `timeline` and `fanIn` are
 * `[postId, publishedAt]` entries; each post's current position is `current[postId]`.
 */
async function mergedFeed(
  timelineEntries: [string, string][],
  fanInEntries: [string, string][],
  current: Record<string, string>,
): Promise<FeedService> {
  const below = (entries: [string, string][], before: string, limit: number, authorId: string) => {
    const all = entries
      .map(([postId, at]) => ({ position: `${at}#${postId}`, postId, authorId }))
      .filter((c) => c.position < before)
      .sort((a, b) => (a.position < b.position ? 1 : -1));
    return { candidates: all.slice(0, limit), more: all.length > limit, lastPosition: all.at(limit - 1)?.position };
  };
  const timeline: Pick<TimelineRepository, 'page'> = {
    page: (_reader, before, limit) => Promise.resolve(below(timelineEntries, before, limit, 'author')),
  };
  const follows: Pick<FollowsRepository, 'counts'> = {
    counts: () => Promise.resolve({ followerCount: 0, followingCount: 1, fanIn: false, fanInAuthors: ['author'] }),
  };
  const posts: Pick<PostsRepository, 'publishedPositions' | 'findSummariesWith'> = {
    publishedPositions: (authorId, before, limit) => Promise.resolve(below(fanInEntries, before, limit, authorId)),
    findSummariesWith: (postIds) =>
      Promise.resolve({
        summaries: postIds.map((id) => ({ ...post, id, slug: id, publishedAt: current[id] })),
        extra: [{ authorId: 'author' }],
      }),
  };
  return feedServiceOver(timeline, follows, posts);
}

describe('FeedService offset pages across a post in both sources (review 5, #5)', () => {
  const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T08:00:00.000Z`;

  /** The Conduit walk: offsets 0, n, 2n, ...: a page of `limit` after `offset` places, in one read. */
  async function walk(feed: FeedService, limit: number): Promise<string[]> {
    const ids: string[] = [];
    for (let offset = 0; offset < 50; offset += limit) {
      const page = await feed.pageAtOffset('reader', limit, offset);
      ids.push(...page.items.map((item) => item.id));
      if (!page.nextCursor) break;
    }
    return ids;
  }

  it('keeps offset pages an exact partition when a timeline entry is left at a republished post’s old position', async () => {
    // The author went fan-in after p1's first publication was fanned out; p1 was republished on
    // the 24th, so the reader's timeline still holds its place of the 10th (shown never) and the
    // fan-in source has its current one. q1 and q0 came through the timeline, a2 through fan-in.
    const feed = await mergedFeed(
      [
        ['q1', at(25)],
        ['p1', at(10)],
        ['q0', at(5)],
      ],
      [
        ['p1', at(24)],
        ['a2', at(20)],
      ],
      { q1: at(25), p1: at(24), a2: at(20), q0: at(5) },
    );
    const whole = (await feed.page('reader', 30)).items.map((item) => item.id);
    expect(whole).toEqual(['q1', 'p1', 'a2', 'q0']);
    for (const limit of [1, 2, 3, 4]) {
      expect({ limit, ids: await walk(feed, limit) }).toEqual({ limit, ids: whole });
    }
  });

  it('counts a post found at the same position in both sources as one place', async () => {
    const feed = await mergedFeed(
      [
        ['p1', at(24)],
        ['q0', at(5)],
      ],
      [
        ['p1', at(24)],
        ['a2', at(20)],
      ],
      { p1: at(24), a2: at(20), q0: at(5) },
    );
    // Three places: the third is the last, past it nothing.
    expect((await feed.pageAtOffset('reader', 10, 2)).items.map((item) => item.id)).toEqual(['q0']);
    expect((await feed.pageAtOffset('reader', 10, 3)).items).toEqual([]);
    for (const limit of [1, 2, 3]) {
      expect({ limit, ids: await walk(feed, limit) }).toEqual({ limit, ids: ['p1', 'a2', 'q0'] });
    }
  });
});
