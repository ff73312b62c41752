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
import { Public, Roles } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import { CreateTagDto, ListTagsQueryDto, SlugParams, TagDto, TagPageDto, UpdateTagDto } from './dto/taxonomy.dto.js';
import { TaxonomyMapper } from './taxonomy.mapper.js';
import { TaxonomyService } from './taxonomy.service.js';

@ApiTags('tags')
@Controller('tags')
export class TagsController {
  constructor(private readonly taxonomy: TaxonomyService) {}

  /**
   * List tags
   *
   * @remarks Tags by name (A-Z) or by post count (`sort=popular`; `postCount` counts scheduled posts too), one
   * index Query per page.
   */
  @Public()
  @Get()
  @ApiProblemResponses(400)
  async list(@Query() query: ListTagsQueryDto): Promise<TagPageDto> {
    const page = await this.taxonomy.listTags(query.sort ?? 'name', query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    return { items: page.items.map((tag) => TaxonomyMapper.tag(tag)), nextCursor: page.nextCursor };
  }

  /**
   * Get a tag by slug
   *
   * @remarks The tag with its post count. The `ETag` is the tag's version, for `If-Match` on a later change.
   */
  @Public()
  @Get('by-slug/:slug')
  @ApiProblemResponses(400, 404)
  async bySlug(@Param() { slug }: SlugParams, @Res({ passthrough: true }) res: Response): Promise<TagDto> {
    const tag = await this.taxonomy.tagBySlug(slug);
    res.setHeader('ETag', etagOf(tag.version));
    return TaxonomyMapper.tag(tag);
  }

  /**
   * Create a tag (moderator)
   *
   * @remarks Creates a tag. The slug comes from the name unless given; an explicit taken slug is 409
   * `slug_taken`.
   */
  @Roles('moderator', 'admin')
  @Post()
  @ApiProblemResponses(400, 409)
  async create(@Body() dto: CreateTagDto, @Res({ passthrough: true }) res: Response): Promise<TagDto> {
    const tag = await this.taxonomy.createTag(dto);
    res.setHeader('ETag', etagOf(tag.version));
    return TaxonomyMapper.tag(tag);
  }

  /**
   * Change a tag (moderator)
   *
   * @remarks Renames a tag or changes its slug; the uniqueness items are swapped atomically. A stale `If-Match`
   * is 412.
   */
  @Roles('moderator', 'admin')
  @Patch(':id')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 409, 412)
  async update(
    @Param() { id }: IdParams,
    @Body() dto: UpdateTagDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TagDto> {
    const tag = await this.taxonomy.updateTag(id, dto, parseIfMatch(ifMatch));
    res.setHeader('ETag', etagOf(tag.version));
    return TaxonomyMapper.tag(tag);
  }

  /**
   * Delete a tag (moderator)
   *
   * @remarks Deletes a tag that no published post uses (409 `tag_in_use` otherwise).
   */
  @Roles('moderator', 'admin')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 409, 412)
  async remove(@Param() { id }: IdParams): Promise<void> {
    await this.taxonomy.deleteTag(id);
  }
}
