import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_FEED_PAGE } from '../feed.service.js';

/** `?limit=&cursor=` of the personal feed: at most 30 a page, so a page is one BatchGetItem. */
export class PersonalFeedQueryDto {
  /** Posts per page, 1 to 30. @example 20 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_FEED_PAGE)
  limit?: number;

  /** The `nextCursor` of the previous page (opaque; valid only for your own feed). */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  cursor?: string;
}
