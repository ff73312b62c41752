import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { OmitType, PartialType } from '@nestjs/swagger';
import { PageQueryDto } from '../../common/dto/page-query.dto.js';
import { ID_PATTERN } from '../../common/ids.js';
import { MAX_SLUG_LENGTH, SLUG_PATTERN } from '../../slugs/slugify.js';
import { NoInvisibleCharacters, Nfkc, PlainText, SingleScript, TrimNfkc } from '../../common/validation/identifiers.js';

const SLUG_MESSAGE = 'slug must be lower-case letters and digits joined by single hyphens';

/**
 * The bounds of a category's `sortOrder`. Named, not literals: the Swagger CLI plugin emits no
 * metadata for a property decorated with a negative literal (`@Min(-1_000_000)`), so `sortOrder`
 * was missing from the OpenAPI document and the typed client (review 21a L3).
 */
export const MIN_SORT_ORDER = -1_000_000;
export const MAX_SORT_ORDER = 1_000_000;

export class CreateTagDto {
  /** NFKC-normalised; no invisible or filler characters. @example TypeScript */
  @TrimNfkc()
  @IsString()
  @Length(1, 80)
  @NoInvisibleCharacters()
  @PlainText()
  name!: string;

  /** Generated from the name when absent (`-2`, `-3`... on collision); an explicit taken slug is 409. @example typescript */
  @IsOptional()
  @Nfkc()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  @NoInvisibleCharacters()
  @SingleScript()
  slug?: string;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  @PlainText()
  description?: string;

  /** @example #3178c6 */
  @IsOptional()
  @Matches(/^#[0-9a-fA-F]{6}$/, { message: 'color must be #rrggbb' })
  color?: string;
}

export class UpdateTagDto extends PartialType(CreateTagDto) {}

export class CreateCategoryDto extends CreateTagDto {
  /** An icon name for clients. @example book */
  @IsOptional()
  @IsString()
  @MaxLength(50)
  @PlainText()
  icon?: string;

  /** Order among siblings (then by name). @example 10 */
  @IsOptional()
  @IsInt()
  @Min(MIN_SORT_ORDER)
  @Max(MAX_SORT_ORDER)
  sortOrder?: number;

  /** The parent category's id; absent for a top-level category. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'parentId must be a category id' })
  parentId?: string;
}

export class UpdateCategoryDto extends PartialType(OmitType(CreateCategoryDto, ['parentId'] as const)) {
  /** A new parent's id, or `null` to move the category to the top level. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'parentId must be a category id' })
  parentId?: string | null;
}

export class DeleteCategoryQueryDto {
  /** Where the category's children go; required when it has children. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'moveTo must be a category id' })
  moveTo?: string;
}

export class ListTagsQueryDto extends PageQueryDto {
  /** `name` (A-Z, default) or `popular` (most posts first). */
  @IsOptional()
  @IsIn(['name', 'popular'])
  sort?: 'name' | 'popular';
}

export class SlugParams {
  /** @example typescript */
  @Nfkc()
  @IsString()
  @MaxLength(MAX_SLUG_LENGTH)
  slug!: string;
}

export class TagDto {
  id!: string;
  name!: string;
  slug!: string;
  description?: string;
  color?: string;
  /**
   * Posts with this tag: the published ones and the scheduled ones, counted from the moment they are
   * scheduled (before they are out).
   */
  postCount!: number;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  version!: number;
}

export class TagPageDto {
  items!: TagDto[];
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}

export class CategoryDto {
  id!: string;
  name!: string;
  slug!: string;
  description?: string;
  color?: string;
  icon?: string;
  sortOrder!: number;
  parentId?: string;
  /**
   * Posts in this category: the published ones and the scheduled ones, counted from the moment they are
   * scheduled (before they are out).
   */
  postCount!: number;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  updatedAt!: string;
  version!: number;
}

export class CategoryRefDto {
  id!: string;
  name!: string;
  slug!: string;
}

/** A category with its subtree. */
export class CategoryNodeDto extends CategoryDto {
  children!: CategoryNodeDto[];
}

export class CategoryTreeDto {
  /** Top-level categories, each with its subtree, ordered by sortOrder then name. */
  items!: CategoryNodeDto[];
}

/** One category with its direct children and its ancestors (root first), for a breadcrumb. */
export class CategoryDetailDto extends CategoryDto {
  children!: CategoryDto[];
  ancestors!: CategoryRefDto[];
}
