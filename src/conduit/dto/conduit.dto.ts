import { ApiProperty, IntersectionType, PartialType, PickType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { RegisterDto } from '../../users/dto/register.dto.js';
import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { LoginDto } from '../../auth/dto/auth.dto.js';
import { MaxBytes, OptionalNotNull, Trim } from '../../common/validation/validators.js';
import { NoInvisibleCharacters, NotBlank, PlainText, TrimNfkcEach } from '../../common/validation/identifiers.js';
import { CreatePostDto, MAX_CONTENT_BYTES, MAX_CONTENT_CHARS, MAX_TAGS } from '../../posts/dto/post.dto.js';
import { UpdateProfileDto } from '../../users/dto/update-user.dto.js';
import { ERROR_CODES, type ErrorCode } from '../../common/errors/error-codes.js';

/**
 * The RealWorld ("Conduit") request and response shapes (docs/conduit.md). Requests reuse the
 * native DTOs' rules through `PickType`, so a field is checked the same way on both surfaces.
 */

/** The deepest `offset` the article lists accept (a skip's cost grows with the entries it passes: docs/conduit.md). */
export const CONDUIT_MAX_OFFSET = 1000;
export const CONDUIT_DEFAULT_LIMIT = 20;
export const CONDUIT_MAX_LIMIT = 100;

/** A Conduit client sends `""` for "no image". */
const emptyAsNull = () => Transform(({ value }: { value: unknown }) => (value === '' ? null : value));

// --- users ----------------------------------------------------------------------------------

/** `username` is optional natively (derived from the email); Conduit requires it (the service says so). */
export class ConduitNewUserDto extends PickType(RegisterDto, ['email', 'password', 'username'] as const) {}

export class ConduitRegisterDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitNewUserDto)
  user!: ConduitNewUserDto;
}

export class ConduitLoginUserDto extends PickType(LoginDto, ['email', 'password'] as const) {}

export class ConduitLoginDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitLoginUserDto)
  user!: ConduitLoginUserDto;
}

export class ConduitUserChangesDto extends IntersectionType(
  PickType(UpdateProfileDto, ['bio'] as const),
  PickType(RegisterDto, ['username'] as const),
) {
  /**
   * Only the current email is accepted here (a no-op); another is refused (422): change it with
   * `POST /api/v1/users/me/email` (the current password), then the link mailed to the new address.
   */
  @OptionalNotNull()
  @IsString()
  @MaxLength(320)
  email?: string;

  /** Refused (422): change it with `POST /api/v1/auth/password`, which needs the current password. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** The avatar's http(s) URL; `null` or `""` removes it. */
  @IsOptional()
  @emptyAsNull()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'image must be an http(s) URL' },
  )
  @MaxLength(2048)
  @PlainText()
  image?: string | null;

  /** Sent back by some clients with the rest of the user; ignored. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  token?: string;
}

export class ConduitUpdateUserDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitUserChangesDto)
  user!: ConduitUserChangesDto;
}

export class ConduitUserDto {
  email!: string;
  /** Send it as `Authorization: Token <token>`; it lives as long as its session. */
  token!: string;
  username!: string;
  @ApiProperty({ type: String, nullable: true })
  bio!: string | null;
  @ApiProperty({ type: String, nullable: true })
  image!: string | null;
}

export class ConduitUserResponseDto {
  user!: ConduitUserDto;
}

// --- profiles -------------------------------------------------------------------------------

export class ConduitProfileDto {
  username!: string;
  @ApiProperty({ type: String, nullable: true })
  bio!: string | null;
  @ApiProperty({ type: String, nullable: true })
  image!: string | null;
  following!: boolean;
}

export class ConduitProfileResponseDto {
  profile!: ConduitProfileDto;
}

export class ConduitUsernameParams {
  @IsString()
  @Length(1, 64)
  username!: string;
}

// --- articles -------------------------------------------------------------------------------

export class ConduitNewArticleDto extends PickType(CreatePostDto, ['title'] as const) {
  /** Becomes the post's excerpt. */
  @IsString()
  @Trim()
  @Length(1, 500)
  @PlainText()
  description!: string;

  /** Becomes the post's content. */
  @IsString()
  @Length(1, MAX_CONTENT_CHARS)
  @MaxBytes(MAX_CONTENT_BYTES)
  @PlainText()
  @NotBlank()
  body!: string;

  /**
   * Tag names; unknown ones are created. Each is a tag's name as `POST /api/v1/tags` takes it
   * (`CreateTagDto`): NFKC-normalised and trimmed, 1-80 characters, no invisible or filler
   * characters (review 19a, M3). @example ["dragons","training"]
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @TrimNfkcEach()
  @IsString({ each: true })
  @Length(1, 80, { each: true })
  @NoInvisibleCharacters({ each: true })
  @PlainText({ each: true })
  tagList?: string[];
}

export class ConduitCreateArticleDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitNewArticleDto)
  article!: ConduitNewArticleDto;
}

/** Every field optional; `tagList`, when present, replaces the tags (unknown names are created). */
export class ConduitArticleChangesDto extends PartialType(ConduitNewArticleDto) {}

export class ConduitUpdateArticleDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitArticleChangesDto)
  article!: ConduitArticleChangesDto;
}

export class ConduitSlugParams {
  @IsString()
  @Length(1, 200)
  slug!: string;
}

export class ConduitCommentParams extends ConduitSlugParams {
  @IsString()
  @Length(1, 64)
  id!: string;
}

export class ConduitFeedQueryDto {
  /** Articles per page (default 20, at most 100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(CONDUIT_MAX_LIMIT)
  limit?: number;

  /** How many entries of the list to skip (at most 1,000): passed by count-only reads, no article is read, but the cost grows with the offset. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(CONDUIT_MAX_OFFSET)
  offset?: number;
}

export class ConduitArticlesQueryDto extends ConduitFeedQueryDto {
  /** Only articles with this tag. */
  @IsOptional()
  @IsString()
  @Length(1, 80)
  tag?: string;

  /** Only articles by this username. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  author?: string;

  /** Only articles this username favorited. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  favorited?: string;
}

export class ConduitArticleDto {
  slug!: string;
  title!: string;
  description!: string;
  body!: string;
  tagList!: string[];
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  favorited!: boolean;
  favoritesCount!: number;
  author!: ConduitProfileDto;
}

export class ConduitArticleResponseDto {
  article!: ConduitArticleDto;
}

export class ConduitArticlesResponseDto {
  articles!: ConduitArticleDto[];
  /** Exact, from counters, except for the feed (docs/conduit.md). */
  articlesCount!: number;
}

// --- comments -------------------------------------------------------------------------------

export class ConduitNewCommentDto {
  @IsString()
  @Length(1, 10_000)
  @PlainText()
  @NotBlank()
  body!: string;
}

export class ConduitCreateCommentDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConduitNewCommentDto)
  comment!: ConduitNewCommentDto;
}

export class ConduitCommentDto {
  /** The comment's id (a string here, an integer in the RealWorld spec: docs/conduit.md). */
  id!: string;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  body!: string;
  author!: ConduitProfileDto;
}

export class ConduitCommentResponseDto {
  comment!: ConduitCommentDto;
}

export class ConduitCommentsResponseDto {
  comments!: ConduitCommentDto[];
}

// --- tags and errors ------------------------------------------------------------------------

export class ConduitTagsResponseDto {
  tags!: string[];
}

/** The RealWorld error body: field (or `body`) -> messages, and the native API's stable `code`. */
export class ConduitErrorsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { email: ['has already been taken'] },
  })
  errors!: Record<string, string[]>;
  /**
   * The stable machine-readable code the native API answers the same error with (problem+json's
   * `code`): branch on this, not on the messages. Not in the RealWorld spec, which clients ignore.
   */
  @ApiProperty({ enum: ERROR_CODES, enumName: 'ErrorCode', example: 'email_taken' })
  code!: ErrorCode;
}
