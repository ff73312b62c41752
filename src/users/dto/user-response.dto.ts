import { ApiProperty } from '@nestjs/swagger';
import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { USER_ROLES, USER_STATUSES, type UserRole, type UserStatus } from '../../identity/account.js';

/** A link to the user elsewhere. */
export class SocialLinkDto {
  /** Network name, e.g. `github`. */
  network!: string;
  /** Profile URL (http or https). */
  url!: string;
}

/** The public part of a profile. */
export class PublicProfileDto {
  bio?: string;
  avatarUrl?: string;
  website?: string;
  location?: string;
  socialLinks?: SocialLinkDto[];
}

/** What anyone may see of a user. */
export class PublicUserDto {
  id!: string;
  username!: string;
  firstName?: string;
  lastName?: string;
  /** When the account was created (ISO 8601). */
  @ApiTimestamp()
  createdAt!: string;
  profile!: PublicProfileDto;
  /** How many users follow this one (exact). */
  followerCount!: number;
  /** How many users this one follows (exact). */
  followingCount!: number;
  /** Whether the caller follows this user: present only when the request is signed in. */
  followedByMe?: boolean;
}

/** The signed-in user's own view of their account. */
export class MeDto {
  id!: string;
  email!: string;
  username!: string;
  firstName?: string;
  lastName?: string;
  /** @example user */
  @ApiProperty({ enum: USER_ROLES }) // stated: the plugin's order for a union varies (docs/testing.md)
  role!: UserRole;
  /** @example active */
  @ApiProperty({ enum: USER_STATUSES })
  status!: UserStatus;
  emailVerified!: boolean;
  @ApiTimestamp()
  emailVerifiedAt?: string;
  @ApiTimestamp()
  lastLoginAt?: string;
  loginCount!: number;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  /** Increases by one with every change; also sent as the `ETag`. */
  version!: number;
}

/** The whole profile, as its owner sees it. */
export class ProfileDto extends PublicProfileDto {
  /** `YYYY-MM-DD`. */
  @ApiProperty({ format: 'date' })
  dateOfBirth?: string;
  phoneNumber?: string;
  preferences?: Record<string, string | number | boolean>;
  @ApiTimestamp()
  updatedAt!: string;
  /** Also sent as the `ETag` of `/users/me/profile`. */
  version!: number;
}

/** The signed-in user with their profile. */
export class MeWithProfileDto extends MeDto {
  profile!: ProfileDto;
}

/** An email change asked for (review 22a M3): pending until the link mailed to the new address is used. */
export class EmailChangeRequestedDto {
  /** The address the account moves to once the link mailed there is used. @example ada@newmail.example */
  pendingEmail!: string;
  /** When that link expires (`ACTION_TOKEN_TTL_SECONDS` after the request). */
  @ApiTimestamp()
  expiresAt!: string;
}

/** A user as an admin sees it: the account, and whether its erasure is pending (never shown to anyone else). */
export class AdminUserDto extends MeDto {
  /**
   * Set while an erasure of the account is pending (asked for at that time, not finished): its status
   * cannot change until the erase finishes (409 `erasure_pending`). Absent otherwise.
   */
  @ApiTimestamp()
  erasureRequestedAt?: string;
}

/** A page of users (admin listing). */
export class UserPageDto {
  items!: AdminUserDto[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}
