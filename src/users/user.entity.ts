export const USER_ROLES = ['user', 'moderator', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** `pending` until the email is verified; `suspended` by an admin; `inactive` once deleted. */
export const USER_STATUSES = ['pending', 'active', 'suspended', 'inactive'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** The user item (`PK=USER#<id>`, `SK=USER`) as the domain sees it. */
export interface User {
  id: string;
  email: string;
  username: string;
  firstName?: string;
  lastName?: string;
  role: UserRole;
  status: UserStatus;
  emailVerified: boolean;
  emailVerifiedAt?: string;
  lastLoginAt?: string;
  loginCount: number;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  version: number;
  /** Rises with every password change: reset links are bound to it. Internal, never returned. */
  passwordGeneration?: number;
}

/** The user with its credential: only the auth code ever sees this. */
export interface UserWithPassword extends User {
  passwordHash: string;
}

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
