import { Body, Controller, Get, Headers, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public, Roles } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { NoQueryDto } from '../common/dto/no-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import {
  CategoryDetailDto,
  CategoryDto,
  CategoryTreeDto,
  CreateCategoryDto,
  SlugParams,
  UpdateCategoryDto,
} from './dto/taxonomy.dto.js';
import { TaxonomyMapper } from './taxonomy.mapper.js';
import { TaxonomyService } from './taxonomy.service.js';
import { PublicCache } from '../http/public-cache.interceptor.js';

@ApiTags('categories')
@Controller('categories')
export class CategoriesController {
  constructor(private readonly taxonomy: TaxonomyService) {}

  /**
   * Get the category tree
   *
   * @remarks The whole category tree, from one Query, with each category's published post count.
   */
  @Public()
  @PublicCache()
  @Get()
  @ApiProblemResponses(400)
  async tree(@Query() _query: NoQueryDto): Promise<CategoryTreeDto> {
    return { items: (await this.taxonomy.tree()).map((node) => TaxonomyMapper.node(node)) };
  }

  /**
   * Get a category by slug
   *
   * @remarks One category with its children and its ancestors (the breadcrumb), from one Query
   * and one BatchGetItem. The `ETag` is the category's version, for `If-Match` on a later change.
   */
  @Public()
  @Get('by-slug/:slug')
  @ApiProblemResponses(400, 404)
  async bySlug(@Param() { slug }: SlugParams, @Res({ passthrough: true }) res: Response): Promise<CategoryDetailDto> {
    const detail = await this.taxonomy.categoryBySlug(slug);
    res.setHeader('ETag', etagOf(detail.category.version));
    return TaxonomyMapper.detail(detail);
  }

  /**
   * Create a category (admin)
   *
   * @remarks Creates a category, under `parentId` when given (422 `unknown_parent` when it does not exist). The
   * slug comes from the name unless given; an explicit taken slug is 409 `slug_taken`. A creation under a parent
   * races every other change of the tree: the one that loses is 412 `version_mismatch` (retry it).
   */
  @Roles('admin')
  @Post()
  @ApiProblemResponses(400, 409, 412, 422)
  async create(@Body() dto: CreateCategoryDto, @Res({ passthrough: true }) res: Response): Promise<CategoryDto> {
    const category = await this.taxonomy.createCategory(dto);
    res.setHeader('ETag', etagOf(category.version));
    return TaxonomyMapper.category(category);
  }

  /**
   * Change a category (admin)
   *
   * @remarks Renames, re-slugs or moves a category. Moving it under one of its own descendants is refused (409
   * `category_cycle`); a stale `If-Match` is 412.
   */
  @Roles('admin')
  @Patch(':id')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 409, 412, 422)
  async update(
    @Param() { id }: IdParams,
    @Body() dto: UpdateCategoryDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CategoryDto> {
    const category = await this.taxonomy.updateCategory(id, { ...dto }, parseIfMatch(ifMatch));
    res.setHeader('ETag', etagOf(category.version));
    return TaxonomyMapper.category(category);
  }
}
