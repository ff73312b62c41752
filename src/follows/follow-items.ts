import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { ENTITY, FollowIndexKeys, Keys } from '../dynamo/keys.js';

type Item = Record<string, NativeAttributeValue>;

/**
 * The most fan-in authors (past FEED_FANOUT_MAX_FOLLOWERS) a reader may follow: a feed page merges
 * one Query per such author, and their ids live in a set on the reader's counter item, read on
 * every feed page and public user view. A follow past it is 422 `too_many_fan_in_follows`.
 */
export const MAX_FAN_IN_AUTHORS = 100;

/** The follow edge: its own partition, listed by GSI1 (the author's followers) and GSI2 (the follower's following). */
export function toFollowItem(followerId: string, authorId: string, followedAt: string): Item {
  return {
    ...Keys.follow(followerId, authorId),
    ...FollowIndexKeys.edge(followerId, authorId, followedAt),
    entity: ENTITY.Follow,
    followerId,
    authorId,
    followedAt,
  };
}

/** A user's counter item as the follow requests build it up with ADD (for seeding and imports). */
export function toFollowCountsItem(
  userId: string,
  counts: { followerCount: number; followingCount: number; fanIn?: boolean; fanInAuthors?: string[] },
): Item {
  return {
    ...Keys.followCounts(userId),
    entity: ENTITY.FollowCounts,
    followerCount: counts.followerCount,
    followingCount: counts.followingCount,
    ...(counts.fanIn ? { fanIn: true } : {}),
    ...(counts.fanInAuthors?.length ? { fanInAuthors: new Set(counts.fanInAuthors) } : {}),
  };
}

/** A user's follow counts as read from the counter item (absent: all zero). */
export interface FollowCounts {
  followerCount: number;
  followingCount: number;
  /** Sticky: the author passed FEED_FANOUT_MAX_FOLLOWERS once; their posts are fanned in on read. */
  fanIn: boolean;
  /** The fan-in authors this user follows (their posts are merged into the feed on read). */
  fanInAuthors: string[];
}

export function followCountsOf(item: Item | undefined): FollowCounts {
  const number = (name: string) => (typeof item?.[name] === 'number' ? item[name] : 0);
  const authors = item?.fanInAuthors as Set<string> | undefined;
  return {
    followerCount: number('followerCount'),
    followingCount: number('followingCount'),
    fanIn: item?.fanIn === true,
    fanInAuthors: authors ? [...authors].sort() : [],
  };
}
