import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import type { AppConfig } from '../config/app-config.js';
import { FanInChangedError, type FollowPage, type FollowsRepository, type FollowTarget } from './follows.repository.js';
import { FollowsService } from './follows.service.js';

const NOW = '2026-05-15T12:00:00.000Z';
const THRESHOLD = 3;

const counts = (followerCount: number, fanIn = false) => ({
  followerCount,
  followingCount: 0,
  fanIn,
  fanInAuthors: [],
});
const target = (overrides: Partial<FollowTarget> = {}): FollowTarget => ({
  exists: true,
  status: 'active',
  counts: counts(1),
  ...overrides,
});

/** The repository faked at its class token: each method a jest.fn with a default answer. */
function fakeFollows(found: FollowTarget = target(), after = counts(2)) {
  return {
    findTarget: jest.fn((_userId: string) => Promise.resolve(found)),
    follow: jest.fn((_follower: string, _author: string, _at: string, _fanIn: boolean) => Promise.resolve(undefined)),
    unfollow: jest.fn((_follower: string, _author: string) => Promise.resolve(undefined)),
    counts: jest.fn((_userId: string, _consistent?: boolean) => Promise.resolve(after)),
    markFanIn: jest.fn((_userId: string) => Promise.resolve(undefined)),
    followersPage: jest.fn((): Promise<FollowPage> =>
      Promise.resolve({
        owner: undefined,
        edges: [],
        users: new Map(),
        nextCursor: null,
      }),
    ),
  };
}

function serviceWith(follows: ReturnType<typeof fakeFollows>) {
  const config = { feed: { fanoutMaxFollowers: THRESHOLD } } as AppConfig;
  return new FollowsService(follows as unknown as FollowsRepository, new SettableClock().set(NOW), config);
}

describe('FollowsService.follow', () => {
  it('writes the edge at the clock, with the fan-in flag it read, and answers the consistent count', async () => {
    const follows = fakeFollows(target(), counts(2));
    expect(await serviceWith(follows).follow('reader', 'author')).toEqual({ following: true, followerCount: 2 });
    expect(follows.follow.mock.calls).toEqual([['reader', 'author', NOW, false]]);
    expect(follows.counts.mock.calls).toEqual([['author', true]]);
    expect(follows.markFanIn).not.toHaveBeenCalled();
  });

  it('nobody follows themselves: 422 cannot_follow_self, nothing read or written', async () => {
    const follows = fakeFollows();
    expect(await refusalOf(() => serviceWith(follows).follow('me', 'me'))).toBe('422 cannot_follow_self');
    expect(follows.findTarget).not.toHaveBeenCalled();
    expect(follows.follow).not.toHaveBeenCalled();
  });

  it('a missing or deactivated account: 404 user_not_found, nothing written', async () => {
    for (const found of [target({ exists: false }), target({ status: 'inactive' })]) {
      const follows = fakeFollows(found);
      expect(await refusalOf(() => serviceWith(follows).follow('reader', 'author'))).toBe('404 user_not_found');
      expect(follows.follow).not.toHaveBeenCalled();
    }
  });

  it('a suspended account can be followed', async () => {
    const follows = fakeFollows(target({ status: 'suspended' }));
    expect(await refusalOf(() => serviceWith(follows).follow('reader', 'author'))).toBe('allowed');
  });

  it('when the author became fan-in meanwhile, writes the edge again as a fan-in follow', async () => {
    const follows = fakeFollows();
    follows.follow.mockRejectedValueOnce(new FanInChangedError());
    await serviceWith(follows).follow('reader', 'author');
    expect(follows.follow.mock.calls).toEqual([
      ['reader', 'author', NOW, false],
      ['reader', 'author', NOW, true],
    ]);
  });

  it('other failures of the write reach the caller', async () => {
    const follows = fakeFollows();
    follows.follow.mockRejectedValueOnce(new Error('boom'));
    await expect(serviceWith(follows).follow('reader', 'author')).rejects.toThrow('boom');
    expect(follows.follow).toHaveBeenCalledTimes(1);
  });

  it('the follow that takes an author past FEED_FANOUT_MAX_FOLLOWERS flags them fan-in, once', async () => {
    const atThreshold = fakeFollows(target(), counts(THRESHOLD));
    await serviceWith(atThreshold).follow('reader', 'author');
    expect(atThreshold.markFanIn).not.toHaveBeenCalled();

    const past = fakeFollows(target(), counts(THRESHOLD + 1));
    await serviceWith(past).follow('reader', 'author');
    expect(past.markFanIn.mock.calls).toEqual([['author']]);

    const flagged = fakeFollows(target(), counts(THRESHOLD + 5, true));
    await serviceWith(flagged).follow('reader', 'author');
    expect(flagged.markFanIn).not.toHaveBeenCalled();
  });
});

describe('FollowsService.unfollow', () => {
  it('removes the edge and answers the count read after it', async () => {
    const follows = fakeFollows(target({ counts: counts(4) }));
    expect(await serviceWith(follows).unfollow('reader', 'author')).toEqual({ following: false, followerCount: 4 });
    expect(follows.unfollow.mock.calls).toEqual([['reader', 'author']]);
  });

  it('unfollowing oneself: 422 cannot_follow_self', async () => {
    const follows = fakeFollows();
    expect(await refusalOf(() => serviceWith(follows).unfollow('me', 'me'))).toBe('422 cannot_follow_self');
    expect(follows.unfollow).not.toHaveBeenCalled();
  });

  it('a missing account: 404 user_not_found', async () => {
    const follows = fakeFollows(target({ exists: false }));
    expect(await refusalOf(() => serviceWith(follows).unfollow('reader', 'gone'))).toBe('404 user_not_found');
  });
});

describe('FollowsService listings', () => {
  const page = (owner: FollowPage['owner']): FollowPage => ({
    owner,
    edges: [
      { userId: 'u1', followedAt: '2026-05-01T00:00:00.000Z' },
      { userId: 'u2', followedAt: '2026-05-02T00:00:00.000Z' },
      { userId: 'u3', followedAt: '2026-05-03T00:00:00.000Z' },
    ],
    users: new Map([
      ['u1', { status: 'active', username: 'one', firstName: 'Ann' }],
      ['u2', { status: 'inactive', username: 'two' }],
    ]),
    nextCursor: 'next',
  });

  it('lists the page without deactivated or erased accounts, keeping the cursor', async () => {
    const follows = fakeFollows();
    follows.followersPage.mockResolvedValueOnce(page({ status: 'active' }));
    expect(await serviceWith(follows).followers('author', 1)).toEqual({
      items: [
        { id: 'u1', username: 'one', firstName: 'Ann', lastName: undefined, followedAt: '2026-05-01T00:00:00.000Z' },
      ],
      nextCursor: 'next',
    });
  });

  it('fills a page short by the accounts left out from its cursor, asking for the missing count', async () => {
    const follows = fakeFollows();
    follows.followersPage.mockResolvedValueOnce(page({ status: 'active' })).mockResolvedValueOnce({
      owner: { status: 'active' },
      edges: [{ userId: 'u4', followedAt: '2026-05-04T00:00:00.000Z' }],
      users: new Map([['u4', { status: 'suspended', username: 'four' }]]),
      nextCursor: null,
    });
    const listed = await serviceWith(follows).followers('author', 20, 'from');
    expect(listed.items.map((entry) => entry.username)).toEqual(['one', 'four']);
    expect(listed.nextCursor).toBeNull();
    expect(follows.followersPage.mock.calls).toEqual([
      ['author', 20, 'from'],
      ['author', 19, 'next'],
    ]);
  });

  it('a missing or deactivated owner: 404 user_not_found', async () => {
    for (const owner of [undefined, { status: 'inactive' }]) {
      const follows = fakeFollows();
      follows.followersPage.mockResolvedValueOnce(page(owner));
      expect(await refusalOf(() => serviceWith(follows).followers('author', 20))).toBe('404 user_not_found');
    }
  });
});
