import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { SessionDto } from '../../identity/sessions/session.dto.js';
import { CommentDto } from '../../comments/dto/comment.dto.js';
import { FollowListEntryDto } from '../../follows/dto/follow.dto.js';
import { PostDto } from '../../posts/dto/post.dto.js';
import { MeDto, ProfileDto } from '../../users/dto/user-response.dto.js';

/** A post the caller likes. */
export class LikeRecordDto {
  postId!: string;
  @ApiTimestamp()
  likedAt!: string;
}

/** A comment the caller likes. */
export class CommentLikeRecordDto {
  postId!: string;
  commentId!: string;
}

/** A password-reset or verification link not used yet (the token itself is not stored). */
export class ActionTokenRecordDto {
  /** @example email_verification */
  kind!: string;
  /** The address the link was sent to. */
  email!: string;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  expiresAt!: string;
}

/** An `Idempotency-Key` the caller sent with a post creation (kept 24 hours). */
export class IdempotencyRecordDto {
  key!: string;
  postId!: string;
}

/** The caller's follows both ways, newest first, as the public listings show them. */
export class FollowsRecordDto {
  /** The users the caller follows. */
  following!: FollowListEntryDto[];
  /** The users who follow the caller. */
  followers!: FollowListEntryDto[];
}

/**
 * Everything the service holds about the caller, for a data-access request (GDPR art. 15/20).
 * Password hashes and token hashes are left out: they are not readable data about the person.
 */
export class PersonalDataExportDto {
  @ApiTimestamp()
  exportedAt!: string;
  account!: MeDto;
  profile!: ProfileDto;
  sessions!: SessionDto[];
  /** The caller's posts in every status, with their content. */
  posts!: PostDto[];
  /** The caller's comments in every status. */
  comments!: CommentDto[];
  likes!: LikeRecordDto[];
  commentLikes!: CommentLikeRecordDto[];
  actionTokens!: ActionTokenRecordDto[];
  idempotencyKeys!: IdempotencyRecordDto[];
  /**
   * Whom the caller follows and who follows them (deactivated and erased accounts left out, as in
   * `GET /users/{id}/following` and `/followers`).
   */
  follows!: FollowsRecordDto;
}
