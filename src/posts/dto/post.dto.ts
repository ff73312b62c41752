import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { ApiProperty, OmitType, PartialType } from '@nestjs/swagger';
import { PageQueryDto } from '../../common/dto/page-query.dto.js';
import { ID_PATTERN } from '../../common/ids.js';
import { MAX_SLUG_LENGTH, SLUG_PATTERN } from '../../slugs/slugify.js';
import { MaxBytes, Trim } from '../../common/validation/validators.js';
import { acceptPlainPageQuery } from '../../common/validation/validation.js';
import { NoInvisibleCharacters, Nfkc, NotBlank, PlainText, SingleScript } from '../../common/validation/identifiers.js';
import { POST_STATUSES, type PostStatus } from '../post.entity.js';

/** Content bound: 100,000 characters and 200,000 bytes of UTF-8, so the content item stays far below 400 KB. */
export const MAX_CONTENT_CHARS = 100_000;
export const MAX_CONTENT_BYTES = 200_000;
export const MAX_TAGS = 10;

export class CreatePostDto {
  /** 1 to 200 characters. @example Designing a single-table API */
  @Trim()
  @IsString()
  @Length(1, 200)
  @PlainText()
  @NotBlank()
  title!: string;

  /** Generated from the title when absent (`-2`, `-3`... on collision); an explicit taken slug is 409. */
  @IsOptional()
  @Nfkc()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case letters and digits joined by single hyphens' })
  @NoInvisibleCharacters()
  @SingleScript()
  slug?: string;

  /** Up to 500 characters; derived from the content when absent. */
  @IsOptional()
  @Trim()
  @IsString()
  @MaxLength(500)
  @PlainText()
  excerpt?: string;

  /** Up to 100,000 characters and 200,000 bytes. */
  @IsString()
  @Length(1, MAX_CONTENT_CHARS)
  @MaxBytes(MAX_CONTENT_BYTES)
  @PlainText()
  @NotBlank()
  content!: string;

  /** @example https://example.com/cover.png */
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'featuredImageUrl must be an http(s) URL' },
  )
  @MaxLength(2048)
  @PlainText()
  featuredImageUrl?: string;

  /** An existing category's id. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'categoryId must be a category id' })
  categoryId?: string;

  /** Up to 10 existing tag ids. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @ArrayUnique()
  @Matches(ID_PATTERN, { each: true, message: 'each tag id must be a tag id' })
  tagIds?: string[];
}

export class UpdatePostDto extends PartialType(OmitType(CreatePostDto, ['categoryId'] as const)) {
  /** A category id, or `null` to remove the category. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'categoryId must be a category id' })
  categoryId?: string | null;
}

export class PublishPostDto {
  /** When the post goes live (ISO 8601); now when absent. A future time schedules it. */
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true }, { message: 'publishAt must be an ISO 8601 date-time' })
  @ApiTimestamp()
  publishAt?: string;
}

export class FeedQueryDto extends PageQueryDto {
  /** Only posts in this category (slug). */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  category?: string;

  /** Only posts with this tag (slug). */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  tag?: string;

  /** Only posts by this author (user id). */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'author must be a user id' })
  author?: string;
}
// Its filters are optional: a plain page query is valid for it (the list of 20's fast path).
acceptPlainPageQuery(FeedQueryDto);

export class OwnPostsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(POST_STATUSES)
  status?: PostStatus;
}

export class PostSlugParams {
  @Nfkc()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  slug!: string;
}

/** A post in a list: everything but the content. */
export class PostSummaryDto {
  id!: string;
  authorId!: string;
  /**
   * The author's username (at most 64 bytes), kept current by the stream processor after a rename
   * (seconds later). Absent on posts from before it was copied and on anonymised posts.
   */
  authorUsername?: string;
  /** The author's name (first and last, at most 64 bytes), when they set one; like `authorUsername`. */
  authorName?: string;
  title!: string;
  slug!: string;
  excerpt!: string;
  featuredImageUrl?: string;
  categoryId?: string;
  tagIds!: string[];
  /** `scheduled` while `publishedAt` lies ahead. @example published */
  // Stated: the plugin lists a union's members in the type checker's order, which differs between
  // compilations (`nest build` and ts-jest gave two orders; test/openapi-contract.e2e-spec.ts).
  @ApiProperty({ enum: POST_STATUSES })
  status!: PostStatus;
  @ApiTimestamp()
  publishedAt?: string;
  viewCount!: number;
  /** Exact once the change stream has folded the post's like counter shards in (usually within a second). */
  likeCount!: number;
  /** Approved, non-deleted comments. */
  commentCount!: number;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  /** Also the `ETag`. */
  version!: number;
}

export class PostDto extends PostSummaryDto {
  content!: string;
  /** Whether the signed-in caller likes the post (absent for anonymous callers). */
  likedByMe?: boolean;
}

export class PostPageDto {
  items!: PostSummaryDto[];
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}

export class LikeStateDto {
  liked!: boolean;
  likeCount!: number;
}

export class ViewCountDto {
  viewCount!: number;
}
