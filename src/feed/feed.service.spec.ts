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
