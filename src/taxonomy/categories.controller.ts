import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public, Roles } from '../auth/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../common/http/etag.js';
import {
  CategoryDetailDto,
  CategoryDto,
  CategoryTreeDto,
  CreateCategoryDto,
  DeleteCategoryQueryDto,
  SlugParams,
  UpdateCategoryDto,
} from './dto/taxonomy.dto.js';
import { TaxonomyMapper } from './taxonomy.mapper.js';
import { TaxonomyService } from './taxonomy.service.js';

@ApiTags('categories')
@Controller('categories')
export class CategoriesController {
  constructor(private readonly taxonomy: TaxonomyService) {}

  /** The whole category tree, from one Query. */
  @Public()
  @Get()
  async tree(): Promise<CategoryTreeDto> {
    return { items: (await this.taxonomy.tree()).map((node) => TaxonomyMapper.node(node)) };
  }

  /** One category with its children and its ancestors (breadcrumb). */
  @Public()
  @Get(':slug')
  @ApiProblemResponses(400, 404)
  async bySlug(@Param() { slug }: SlugParams, @Res({ passthrough: true }) res: Response): Promise<CategoryDetailDto> {
    const detail = await this.taxonomy.categoryBySlug(slug);
    res.setHeader('ETag', etagOf(detail.category.version));
    return TaxonomyMapper.detail(detail);
  }

  /** Creates a category (admins). */
  @Roles('admin')
  @Post()
  @ApiProblemResponses(400, 409, 422)
  async create(@Body() dto: CreateCategoryDto, @Res({ passthrough: true }) res: Response): Promise<CategoryDto> {
    const category = await this.taxonomy.createCategory(dto);
    res.setHeader('ETag', etagOf(category.version));
    return TaxonomyMapper.category(category);
  }

  /** Changes a category; moving it under one of its own descendants is refused (409 category_cycle). */
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

  /** Deletes a category; with children, `moveTo` names their new parent. */
  @Roles('admin')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 409, 412, 422)
  async remove(@Param() { id }: IdParams, @Query() query: DeleteCategoryQueryDto): Promise<void> {
    await this.taxonomy.deleteCategory(id, query.moveTo);
  }
}
