import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  UseFilters,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../identity/auth-user.js';
import { CurrentUser } from '../identity/auth.decorators.js';
import { ConduitAuthenticated, ConduitContentWrite, ConduitOptionalAuth } from './conduit-auth.js';
import { ConduitErrorFilter, ConduitErrors } from './conduit-errors.filter.js';
import { ConduitService } from './conduit.service.js';
import {
  ConduitArticleResponseDto,
  ConduitArticlesQueryDto,
  ConduitArticlesResponseDto,
  ConduitCommentParams,
  ConduitCommentResponseDto,
  ConduitCommentsResponseDto,
  ConduitCreateArticleDto,
  ConduitCreateCommentDto,
  ConduitFeedQueryDto,
  ConduitSlugParams,
  ConduitUpdateArticleDto,
} from './dto/conduit.dto.js';

/** The Conduit articles, favorites and comments (docs/conduit.md). */
@ApiTags('conduit')
@UseFilters(ConduitErrorFilter)
@Controller('api/articles')
export class ConduitArticlesController {
  constructor(private readonly conduit: ConduitService) {}

  /**
   * Conduit: list articles
   *
   * @remarks Newest first, by one of `tag`, `author` or `favorited` (usernames), paged by `limit` (at most 100)
   * and `offset` (at most 1,000). `articlesCount` is exact (from counters).
   */
  @ConduitOptionalAuth()
  @Get()
  @ConduitErrors(422, 503)
  list(
    @CurrentUser() viewer: AuthUser | undefined,
    @Query() query: ConduitArticlesQueryDto,
  ): Promise<ConduitArticlesResponseDto> {
    return this.conduit.articles(query, viewer);
  }

  /**
   * Conduit: feed
   *
   * @remarks Articles of the users the caller follows, newest first (at most 30 a page).
   */
  @ConduitAuthenticated()
  @Get('feed')
  @ConduitErrors(422, 503)
  feed(@CurrentUser() viewer: AuthUser, @Query() query: ConduitFeedQueryDto): Promise<ConduitArticlesResponseDto> {
    return this.conduit.feedArticles(viewer, query);
  }

  /**
   * Conduit: get an article
   *
   * @remarks One article by slug.
   */
  @ConduitOptionalAuth()
  @Get(':slug')
  @ConduitErrors(404, 422, 503)
  async get(
    @CurrentUser() viewer: AuthUser | undefined,
    @Param() { slug }: ConduitSlugParams,
  ): Promise<ConduitArticleResponseDto> {
    return { article: await this.conduit.article(slug, viewer) };
  }

  /**
   * Conduit: create an article
   *
   * @remarks Published at once; `tagList` names are found or created.
   */
  @ConduitContentWrite()
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ConduitErrors(422, 503)
  async create(
    @CurrentUser() viewer: AuthUser,
    @Body() dto: ConduitCreateArticleDto,
  ): Promise<ConduitArticleResponseDto> {
    return { article: await this.conduit.createArticle(viewer, dto.article) };
  }

  /**
   * Conduit: update an article
   *
   * @remarks Title, description, body and tags; the author or an admin only (403), the slug stays.
   */
  @ConduitContentWrite()
  @Put(':slug')
  @ConduitErrors(404, 412, 422, 503)
  async update(
    @CurrentUser() viewer: AuthUser,
    @Param() { slug }: ConduitSlugParams,
    @Body() dto: ConduitUpdateArticleDto,
  ): Promise<ConduitArticleResponseDto> {
    return { article: await this.conduit.updateArticle(viewer, slug, dto.article) };
  }

  /**
   * Conduit: delete an article
   *
   * @remarks The author, an admin or a moderator only (403).
   */
  @ConduitContentWrite()
  @Delete(':slug')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(404, 422, 503)
  async delete(@CurrentUser() viewer: AuthUser, @Param() { slug }: ConduitSlugParams): Promise<void> {
    await this.conduit.deleteArticle(viewer, slug);
  }

  /**
   * Conduit: favorite
   *
   * @remarks Likes the article (idempotent).
   */
  @ConduitContentWrite()
  @Post(':slug/favorite')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(404, 422, 503)
  async favorite(
    @CurrentUser() viewer: AuthUser,
    @Param() { slug }: ConduitSlugParams,
  ): Promise<ConduitArticleResponseDto> {
    return { article: await this.conduit.setFavorite(viewer, slug, true) };
  }

  /**
   * Conduit: unfavorite
   *
   * @remarks Removes the like (idempotent).
   */
  @ConduitContentWrite()
  @Delete(':slug/favorite')
  @ConduitErrors(404, 422, 503)
  async unfavorite(
    @CurrentUser() viewer: AuthUser,
    @Param() { slug }: ConduitSlugParams,
  ): Promise<ConduitArticleResponseDto> {
    return { article: await this.conduit.setFavorite(viewer, slug, false) };
  }

  /**
   * Conduit: comments
   *
   * @remarks The article's comments (the first 100), oldest first.
   */
  @ConduitOptionalAuth()
  @Get(':slug/comments')
  @ConduitErrors(404, 422, 503)
  async comments(
    @CurrentUser() viewer: AuthUser | undefined,
    @Param() { slug }: ConduitSlugParams,
  ): Promise<ConduitCommentsResponseDto> {
    return { comments: await this.conduit.commentsOf(slug, viewer) };
  }

  /**
   * Conduit: add a comment
   *
   * @remarks Approved or pending by the native moderation policy; a pending comment is listed to its author only
   * (docs/conduit.md).
   */
  @ConduitContentWrite()
  @Post(':slug/comments')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(404, 422, 503)
  async addComment(
    @CurrentUser() viewer: AuthUser,
    @Param() { slug }: ConduitSlugParams,
    @Body() dto: ConduitCreateCommentDto,
  ): Promise<ConduitCommentResponseDto> {
    return { comment: await this.conduit.addComment(viewer, slug, dto.comment.body) };
  }

  /**
   * Conduit: delete a comment
   *
   * @remarks Its author, the article's author, or staff (403 otherwise).
   */
  @ConduitContentWrite()
  @Delete(':slug/comments/:id')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(404, 422, 503)
  async deleteComment(@CurrentUser() viewer: AuthUser, @Param() { slug, id }: ConduitCommentParams): Promise<void> {
    await this.conduit.deleteComment(viewer, slug, id);
  }
}
