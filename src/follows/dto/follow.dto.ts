import { ApiTimestamp } from '../../common/dto/api-timestamp.js';

/** The answer of a follow or an unfollow. */
export class FollowStateDto {
  /** Whether the caller follows the user now. */
  following!: boolean;
  /** The user's follower count after the change (exact: kept in the same transaction as the follow). */
  followerCount!: number;
}

/** A user in a followers or following list. */
export class FollowListEntryDto {
  id!: string;
  username!: string;
  firstName?: string;
  lastName?: string;
  /** When the follow began (ISO 8601). */
  @ApiTimestamp()
  followedAt!: string;
}

export class FollowListPageDto {
  items!: FollowListEntryDto[];
  /** Pass it as `cursor` for the next page; null on the last page. */
  nextCursor!: string | null;
}
