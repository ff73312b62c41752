import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { CLOCK } from '../common/clock/clock.js';
import { loadConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import { PostsRepository } from '../posts/posts.repository.js';
import { FeedFanout, PAIR_KEYS_LAYOUT, TIMELINE_PAIR_KEYS_SINCE } from './feed-fanout.js';
import { TimelineRepository } from './timeline.repository.js';

const DAY_MS = 86_400_000;
const since = Date.parse(TIMELINE_PAIR_KEYS_SINCE);

/**
 * `FeedFanout` at a fixed time, over a fake `TimelineRepository` (at its class's token) that records
 * the Query chosen and answers `layout` as the table's creation layout, counting those reads.
 */
async function fanoutAt(now: number, layout = PAIR_KEYS_LAYOUT - 1) {
  const sources: string[] = [];
  const layoutReads = { count: 0 };
  const timeline = {
    removeAuthorEntries: (_reader: string, _author: string, _now: Date, source: string) =>
      Promise.resolve(sources.push(source) && 0),
    tableCreatedAtLayout: () => Promise.resolve(++layoutReads.count && layout),
  };
  const module = await Test.createTestingModule({
    providers: [
      FeedFanout,
      { provide: TimelineRepository, useValue: timeline },
      { provide: FollowsRepository, useValue: {} },
      { provide: PostsRepository, useValue: {} },
      { provide: APP_CONFIG, useValue: loadConfig({ NODE_ENV: 'test' }) },
      { provide: CLOCK, useValue: { now: () => new Date(now) } },
    ],
  }).compile();
  const fanout = module.get(FeedFanout);
  const sourceOf = async (followedAt?: number | string) => {
    await fanout.unfollowed(
      'reader',
      'author',
      typeof followedAt === 'number' ? new Date(followedAt).toISOString() : followedAt,
    );
    return sources.at(-1);
  };
  return { sourceOf, layoutReads };
}

describe('FeedFanout.unfollowed: which Query finds the author entries (review 21b, L-d)', () => {
  it('reads the whole window for an edge made before the pair keys on an older table, while entries of before can be in the window', async () => {
    const { sourceOf, layoutReads } = await fanoutAt(since + 10 * DAY_MS);
    expect(await sourceOf(since - 1)).toBe('window');
    expect(await sourceOf(since - 90 * DAY_MS)).toBe('window');
    expect(await sourceOf(undefined)).toBe('window');
    expect(await sourceOf('not a date')).toBe('window');
    expect(layoutReads.count).toBe(4);
  });

  it('reads the pair index for an edge made before the pair keys on a table created with them', async () => {
    const { sourceOf } = await fanoutAt(since + 10 * DAY_MS, PAIR_KEYS_LAYOUT);
    expect(await sourceOf(since - 90 * DAY_MS)).toBe('pair');
    expect(await sourceOf(undefined)).toBe('pair');
  });

  it('reads the pair index for an edge made since the pair keys, without reading the layout', async () => {
    const { sourceOf, layoutReads } = await fanoutAt(since + 10 * DAY_MS);
    expect(await sourceOf(since)).toBe('pair');
    expect(await sourceOf(since + DAY_MS)).toBe('pair');
    expect(layoutReads.count).toBe(0);
  });

  it('reads the pair index for an old edge once the window starts after the pair keys', async () => {
    const { sourceOf, layoutReads } = await fanoutAt(since + 32 * DAY_MS);
    expect(await sourceOf(since - 90 * DAY_MS)).toBe('pair');
    expect(layoutReads.count).toBe(0);
  });
});
