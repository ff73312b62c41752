import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { ApiProperty, PickType } from '@nestjs/swagger';
import { PageQueryDto } from '../../common/dto/page-query.dto.js';
import { ID_PATTERN } from '../../common/ids.js';
import { NotBlank, PlainText } from '../../common/validation/identifiers.js';
import { COMMENT_STATUSES, type CommentStatus } from '../comment.entity.js';

export class CreateCommentDto {
  /** 1 to 10,000 characters. */
  @IsString()
  @Length(1, 10_000)
  @PlainText()
  @NotBlank()
  content!: string;

  /** The comment this replies to (same post). Replies deeper than the limit attach to the deepest allowed ancestor. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'parentId must be a comment id' })
  parentId?: string;
}

export class UpdateCommentDto extends PickType(CreateCommentDto, ['content'] as const) {}

export class ModerateCommentDto {
  /** @example approved */
  @IsIn(COMMENT_STATUSES)
  status!: CommentStatus;
}

export class ModerationQueryDto extends PageQueryDto {
  /** Only `pending` comments are queued. */
  @IsOptional()
  @IsIn(['pending'])
  status?: 'pending';
}

export class PostCommentParams {
  @Matches(ID_PATTERN, { message: 'postId must be a post id' })
  postId!: string;
}

export class CommentParams extends PostCommentParams {
  @Matches(ID_PATTERN, { message: 'id must be a comment id' })
  id!: string;
}

export class CommentDto {
  id!: string;
  postId!: string;
  parentId?: string;
  /** 1 for a top-level comment. */
  depth!: number;
  /** Absent on a deleted comment. */
  authorId?: string;
  /**
   * The author's username (at most 64 bytes), kept current by the stream processor after a rename.
   * Absent on a deleted comment and on comments from before it was copied.
   */
  authorUsername?: string;
  /** The author's name (first and last, at most 64 bytes), when they set one; like `authorUsername`. */
  authorName?: string;
  /** Absent on a deleted comment. */
  content?: string;
  /** @example approved */
  @ApiProperty({ enum: COMMENT_STATUSES })
  status!: CommentStatus;
  /** A deleted comment that still has replies stays as a tombstone. */
  deleted!: boolean;
  likeCount!: number;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  @ApiTimestamp()
  editedAt?: string;
  /** Also the `ETag`. */
  version!: number;
}

export class CommentPageDto {
  items!: CommentDto[];
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}

export class CommentLikeStateDto {
  liked!: boolean;
  likeCount!: number;
}
