import type { User } from '../identity/account.js';

// The account itself (roles, statuses, the user item) is identity's, which auth and users both
// read; the users feature re-exports it beside the items only it owns.
export { USER_ROLES, USER_STATUSES } from '../identity/account.js';
export type { DeactivatedBy, User, UserRole, UserStatus, UserWithPassword } from '../identity/account.js';

/** The profile item (`PK=USER#<id>`, `SK=USER#PROFILE`). */
export interface Profile {
  userId: string;
  bio?: string;
  avatarUrl?: string;
  website?: string;
  location?: string;
  dateOfBirth?: string;
  phoneNumber?: string;
  socialLinks?: { network: string; url: string }[];
  preferences?: Record<string, string | number | boolean>;
  updatedAt: string;
  version: number;
}

/** The user aggregate: read with one Query on the user's partition. */
export interface UserAggregate {
  user: User;
  profile: Profile;
  /** Exact follow counts, from the unindexed counter item in the same partition (issue 18). */
  follows: { followerCount: number; followingCount: number };
}
