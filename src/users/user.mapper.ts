import type {
  AdminUserDto,
  MeDto,
  MeWithProfileDto,
  ProfileDto,
  PublicProfileDto,
  PublicUserDto,
} from './dto/user-response.dto.js';
import type { Profile, User, UserAggregate } from './user.entity.js';

/**
 * Responses are built field by field here: an attribute added to the item (a hash, an index
 * key) never reaches a client unless a mapper names it.
 */
export const UserMapper = {
  toPublicProfile(profile: Profile): PublicProfileDto {
    return {
      bio: profile.bio,
      avatarUrl: profile.avatarUrl,
      website: profile.website,
      location: profile.location,
      socialLinks: profile.socialLinks?.map((link) => ({ network: link.network, url: link.url })),
    };
  },

  toPublic({ user, profile, follows }: UserAggregate, followedByMe?: boolean): PublicUserDto {
    return {
      id: user.id,
      username: user.username,
      firstName: user.firstName,
      lastName: user.lastName,
      createdAt: user.createdAt,
      profile: UserMapper.toPublicProfile(profile),
      followerCount: follows.followerCount,
      followingCount: follows.followingCount,
      ...(followedByMe === undefined ? {} : { followedByMe }),
    };
  },

  toProfile(profile: Profile): ProfileDto {
    return {
      ...UserMapper.toPublicProfile(profile),
      dateOfBirth: profile.dateOfBirth,
      phoneNumber: profile.phoneNumber,
      preferences: profile.preferences ? { ...profile.preferences } : undefined,
      updatedAt: profile.updatedAt,
      version: profile.version,
    };
  },

  toMeWithProfile(user: User, profile: Profile): MeWithProfileDto {
    return { ...UserMapper.toMe(user), profile: UserMapper.toProfile(profile) };
  },

  toMe(user: User): MeDto {
    return {
      id: user.id,
      email: user.email,
      username: user.username,
      firstName: user.firstName,
      lastName: user.lastName,
      role: user.role,
      status: user.status,
      emailVerified: user.emailVerified,
      emailVerifiedAt: user.emailVerifiedAt,
      lastLoginAt: user.lastLoginAt,
      loginCount: user.loginCount,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
      version: user.version,
    };
  },

  /** The admin routes' view (session 19): the owner's, and the erasure marker's time when one is pending. */
  toAdmin(user: User): AdminUserDto {
    return { ...UserMapper.toMe(user), erasureRequestedAt: user.erasureRequestedAt };
  },
};
