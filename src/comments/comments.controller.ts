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
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, OptionalAuth, Public, Roles } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import type { Page } from '../dynamo/pagination.js';
import type { Comment } from './comment.entity.js';
import { CommentMapper } from './comment.mapper.js';
import { CommentsService } from './comments.service.js';
import { UsersService } from '../users/users.service.js';
import { ContentWrite } from '../identity/content-write.guard.js';
import {
  CommentDto,
  CommentLikeStateDto,
  CommentPageDto,
  CommentParams,
  CreateCommentDto,
  ModerateCommentDto,
  ModerationQueryDto,
  PostCommentParams,
  UpdateCommentDto,
} from './dto/comment.dto.js';

const toPage = (page: Page<Comment>): CommentPageDto => ({
  items: page.items.map((comment) => CommentMapper.toDto(comment)),
  nextCursor: page.nextCursor,
});

@ApiTags('comments')
@Controller('posts/:postId/comments')
export class CommentsController {
  constructor(private readonly comments: CommentsService) {}

  /**
   * List a post's comments
   *
   * @remarks The thread in display order (each reply right after its parent, siblings oldest first). Pending and
   * rejected comments are shown only to their author and staff. A page short of comments hidden from the caller
   * reads on for the missing count (at most 2 more reads), so it may hold fewer than `limit`, and is empty with a
   * `nextCursor` only when 3 reads in a row found none to show: page on until `nextCursor` is null.
   */
  @OptionalAuth()
  @Get()
  @ApiProblemResponses(400, 404)
  async thread(
    @Param() { postId }: PostCommentParams,
    @Query() query: PageQueryDto,
    @CurrentUser() viewer?: AuthUser,
  ): Promise<CommentPageDto> {
    return toPage(await this.comments.thread(postId, viewer, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor));
  }

  /**
   * Comment on a post
   *
   * @remarks Comments on a published post, or replies with `parentId` (422 `unknown_parent_comment` when the
   * parent is missing, deleted or not visible). Comments wait for moderation unless auto-approval is
   * on.
   */
  @Authenticated()
  @ContentWrite()
  @Post()
  @ApiProblemResponses(400, 404, 422)
  async create(
    @Param() { postId }: PostCommentParams,
    @Body() dto: CreateCommentDto,
    @CurrentUser() viewer: AuthUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CommentDto> {
    const comment = await this.comments.create(postId, viewer, dto.content, dto.parentId);
    res.setHeader('ETag', etagOf(comment.version));
    return CommentMapper.toDto(comment);
  }

  /**
   * Edit my comment
   *
   * @remarks The author changes the content. Send the `ETag` as `If-Match`: a stale one is 412.
   */
  @Authenticated()
  @ContentWrite()
  @Patch(':id')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 412)
  async edit(
    @Param() { postId, id }: CommentParams,
    @Body() dto: UpdateCommentDto,
    @CurrentUser() viewer: AuthUser,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CommentDto> {
    const comment = await this.comments.edit(postId, id, viewer, dto.content, parseIfMatch(ifMatch));
    res.setHeader('ETag', etagOf(comment.version));
    return CommentMapper.toDto(comment);
  }

  /**
   * Delete a comment
   *
   * @remarks Deletes a comment (its author, the post's author, moderators, admins). A comment with replies stays
   * as a tombstone so the thread keeps its shape.
   */
  @Authenticated()
  @ContentWrite()
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 412)
  async remove(@Param() { postId, id }: CommentParams, @CurrentUser() viewer: AuthUser): Promise<void> {
    await this.comments.delete(postId, id, viewer);
  }

  /**
   * Moderate a comment
   *
   * @remarks Sets the moderation status (moderators and admins). The post's author may hide an approved comment
   * on their own post (`rejected`), and nothing else.
   */
  @Authenticated()
  @Post(':id/moderate')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 412)
  async moderate(
    @Param() { postId, id }: CommentParams,
    @Body() dto: ModerateCommentDto,
    @CurrentUser() viewer: AuthUser,
  ): Promise<CommentDto> {
    return CommentMapper.toDto(await this.comments.moderate(postId, id, dto.status, viewer));
  }

  /**
   * Like a comment
   *
   * @remarks Likes an approved comment. Idempotent.
   */
  @Authenticated()
  @ContentWrite()
  @Put(':id/like')
  @ApiProblemResponses(400, 404)
  async like(@Param() { postId, id }: CommentParams, @CurrentUser() viewer: AuthUser): Promise<CommentLikeStateDto> {
    return this.comments.setLike(postId, id, viewer, true);
  }

  /**
   * Remove my like of a comment
   *
   * @remarks Removes the caller's like of a comment. Idempotent.
   */
  @Authenticated()
  @ContentWrite()
  @Delete(':id/like')
  @ApiProblemResponses(400, 404)
  async unlike(@Param() { postId, id }: CommentParams, @CurrentUser() viewer: AuthUser): Promise<CommentLikeStateDto> {
    return this.comments.setLike(postId, id, viewer, false);
  }
}

@ApiTags('comments')
@Controller()
export class CommentListsController {
  constructor(
    private readonly comments: CommentsService,
    private readonly users: UsersService,
  ) {}

  /**
   * List comments awaiting moderation (moderator)
   *
   * @remarks The moderation queue, oldest first: per read, one index Query per shard of the queue (8, in parallel).
   * Comments on deleted posts (until the stream processor removes them) are left out, and a page short of them
   * reads on for the missing count (at most 2 more reads): it is empty with a `nextCursor` only when 3 reads in a
   * row found none to show, so page on until `nextCursor` is null.
   */
  @Roles('moderator', 'admin')
  @Get('comments/moderation')
  @ApiProblemResponses(400)
  async queue(@Query() query: ModerationQueryDto): Promise<CommentPageDto> {
    return toPage(await this.comments.pending(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor));
  }

  /**
   * List a user's comments
   *
   * @remarks A user's approved comments, newest first, on posts that are out: a comment on a post
   * unpublished, archived or scheduled for later is left out while the post is. A page short by
   * such comments reads on for the missing count (at most 2 more reads), so it may hold fewer than
   * `limit` comments, and is empty with a `nextCursor` only when 3 reads in a row found none to
   * show: page on until `nextCursor` is null. A
   * deactivated account's list is empty, as an unknown user's (its profile is 404), read from its
   * status alone; its comments stay in their threads.
   */
  @Public()
  @Get('users/:id/comments')
  @ApiProblemResponses(400)
  async byUser(@Param() { id }: IdParams, @Query() query: PageQueryDto): Promise<CommentPageDto> {
    return toPage(
      await this.users.pageIfShown(id, () =>
        this.comments.byAuthor(id, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor),
      ),
    );
  }
}
