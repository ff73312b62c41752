import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { exportTooLarge, notFound, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { allPagesUpTo, filledPage, type Page } from '../dynamo/pagination.js';
import { FanInChangedError, type FollowPage, FollowsRepository } from './follows.repository.js';

export interface FollowState {
  following: boolean;
  followerCount: number;
}

/** A row of a followers or following page. */
export interface FollowListEntry {
  id: string;
  username: string;
  firstName?: string;
  lastName?: string;
  followedAt: string;
}

/** A user's follows both ways, for their personal-data export. */
export interface FollowsExport {
  following: FollowListEntry[];
  followers: FollowListEntry[];
}

/** Page size when an export drains a listing: the most a page may ask for. */
const EXPORT_PAGE = 100;

const noSuchUser = () => notFound(ErrorCode.UserNotFound, 'No such user.');

/**
 * Follow rules: nobody follows themselves, nobody follows a deactivated or missing account, and
 * following twice (or unfollowing twice) changes nothing. The answer's `followerCount` is read
 * strongly consistent after the write, so it includes every follow that finished before.
 */
@Injectable()
export class FollowsService {
  constructor(
    private readonly follows: FollowsRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async follow(followerId: string, authorId: string): Promise<FollowState> {
    if (followerId === authorId) throw unprocessable(ErrorCode.CannotFollowSelf, 'You cannot follow yourself.');
    const target = await this.follows.findTarget(authorId);
    if (!target.exists || target.status === 'inactive') throw noSuchUser();
    const at = this.clock.now().toISOString();
    try {
      await this.follows.follow(followerId, authorId, at, target.counts.fanIn);
    } catch (error) {
      // The author was promoted to fan-in meanwhile (the flag is sticky, so this happens once).
      if (!(error instanceof FanInChangedError)) throw error;
      await this.follows.follow(followerId, authorId, at, true);
    }
    const counts = await this.follows.counts(authorId, true);
    // The request that takes an author past the threshold flags them (once): from then on their
    // posts are merged into readers' feeds on read instead of being written into every timeline.
    if (counts.followerCount > this.config.feed.fanoutMaxFollowers && !counts.fanIn) {
      await this.follows.markFanIn(authorId);
    }
    return { following: true, followerCount: counts.followerCount };
  }

  async unfollow(followerId: string, authorId: string): Promise<FollowState> {
    if (followerId === authorId) throw unprocessable(ErrorCode.CannotFollowSelf, 'You cannot follow yourself.');
    await this.follows.unfollow(followerId, authorId);
    const target = await this.follows.findTarget(authorId);
    if (!target.exists) throw noSuchUser();
    return { following: false, followerCount: target.counts.followerCount };
  }

  /** Whether the reader follows the author (strongly consistent: a follow just made shows). */
  isFollowing(readerId: string, authorId: string): Promise<boolean> {
    return this.follows.isFollowing(readerId, authorId);
  }

  /** Which of these authors the reader follows: one BatchGetItem (for a list page). */
  followedAmong(readerId: string, authorIds: string[]): Promise<Set<string>> {
    return this.follows.followedAmong(readerId, authorIds);
  }

  /**
   * A page of the user's followers (`following`: whom they follow), 404 for a deactivated or
   * unknown owner. A page short of `limit` by deactivated accounts left out is filled from its
   * cursor (`filledPage`: at most 2 more reads of the missing count, each a Query and a BatchGetItem).
   */
  followers(userId: string, limit: number, cursor?: string): Promise<Page<FollowListEntry>> {
    return this.listed((n, from) => this.follows.followersPage(userId, n, from), limit, cursor);
  }

  following(userId: string, limit: number, cursor?: string): Promise<Page<FollowListEntry>> {
    return this.listed((n, from) => this.follows.followingPage(userId, n, from), limit, cursor);
  }

  /**
   * Whom the user follows and who follows them, as the public listings show them (accounts since
   * deactivated or erased left out): the two listings drained a page at a time, so the reads are
   * O(edges / 100) Queries and BatchGetItems, never a read per edge.
   */
  async followsForExport(userId: string, max: number): Promise<FollowsExport> {
    const [following, followers] = await Promise.all([
      allPagesUpTo(
        (cursor) => this.following(userId, EXPORT_PAGE, cursor),
        max,
        () => exportTooLarge('followed users', max),
      ),
      allPagesUpTo(
        (cursor) => this.followers(userId, EXPORT_PAGE, cursor),
        max,
        () => exportTooLarge('followers', max),
      ),
    ]);
    return { following, followers };
  }

  private listed(
    read: (limit: number, cursor: string | undefined) => Promise<FollowPage>,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<FollowListEntry>> {
    return filledPage(limit, cursor, async (missing, from) => this.toList(await read(missing, from)));
  }

  /** Deactivated and erased accounts are left out of the listed page (the counts still hold their edges until erasure). */
  private toList(page: FollowPage): Page<FollowListEntry> {
    if (!page.owner || page.owner.status === 'inactive') throw noSuchUser();
    const items = page.edges.flatMap((edge) => {
      const user = page.users.get(edge.userId);
      if (!user || user.status === 'inactive') return [];
      return [
        {
          id: edge.userId,
          username: user.username as string,
          firstName: user.firstName as string | undefined,
          lastName: user.lastName as string | undefined,
          followedAt: edge.followedAt,
        },
      ];
    });
    return { items, nextCursor: page.nextCursor };
  }
}
