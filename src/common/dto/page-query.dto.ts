import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `?limit=&cursor=` of every listing. */
export class PageQueryDto {
  /** Items per page, 1 to 100. @example 20 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  /** The `nextCursor` of the previous page (opaque; valid only for the listing that gave it). */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  cursor?: string;
}
