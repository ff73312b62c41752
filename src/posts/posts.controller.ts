import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, OptionalAuth, Public } from '../identity/auth.decorators.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { clientSubject } from '../common/network/client-subject.js';
import { NoQueryDto } from '../common/dto/no-query.dto.js';
import { DEFAULT_PAGE_SIZE } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import {
  CreatePostDto,
  FeedQueryDto,
  LikeStateDto,
  PostDto,
  PostPageDto,
  PostSlugParams,
  PublishPostDto,
  UpdatePostDto,
  ViewCountDto,
} from './dto/post.dto.js';
import { PostMapper } from './post.mapper.js';
import type { PostRead } from './posts.repository.js';
import { ContentWrite } from '../identity/content-write.guard.js';
import { PostsService } from './posts.service.js';
import { UsersService } from '../users/users.service.js';
import { PublicCache } from '../http/public-cache.interceptor.js';

const send = (res: Response, read: PostRead, now: Date, viewer?: AuthUser): PostDto => {
  res.setHeader('ETag', etagOf(read.post.version));
  return PostMapper.full(read.post, viewer ? read.likedByViewer : undefined, now);
};

@ApiTags('posts')
@Controller('posts')
export class PostsController {
  constructor(
    private readonly posts: PostsService,
    private readonly users: UsersService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * List published posts
   *
   * @remarks The published feed, newest first; filter by `category` (slug), `tag` (slug) or `author` (id). One
   * index Query per page, whatever the length of the posts. A deactivated account's `author` list is empty, as an
   * unknown user's; its posts stay in the unfiltered, tag and category feeds.
   */
  @Public()
  @PublicCache()
  @Get()
  @ApiProblemResponses(400)
  async feed(@Query() query: FeedQueryDto): Promise<PostPageDto> {
    const read = this.posts.feed(query, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    const page = await (query.author === undefined ? read : this.users.pageOfShown(query.author, read));
    return { items: page.items.map((post) => PostMapper.summary(post, this.clock.now())), nextCursor: page.nextCursor };
  }

  /**
   * Create a draft post
   *
   * @remarks Creates a draft owned by the caller. Send an `Idempotency-Key` to make retries safe: a retry with
   * the same key and body answers 200 with the post created the first time; the same key with another
   * body is 422 `idempotency_key_reused`.
   */
  @Authenticated()
  @ContentWrite()
  @Post()
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A retry with the same key returns the first post.',
  })
  @ApiResponse({ status: 201, description: 'The new draft.', type: PostDto })
  @ApiResponse({
    status: 200,
    description: 'A retry with the same Idempotency-Key: the post created the first time.',
    type: PostDto,
  })
  @ApiProblemResponses(400, 409, 413, 415, 422)
  async create(
    @CurrentUser() viewer: AuthUser,
    @Body() dto: CreatePostDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    const { post, replayed } = await this.posts.create(viewer, dto, idempotencyKey);
    res.status(replayed ? HttpStatus.OK : HttpStatus.CREATED);
    return send(res, { post, likedByViewer: false }, this.clock.now(), viewer);
  }

  /**
   * Get a post by slug
   *
   * @remarks A published post for everyone; a draft, scheduled or archived one only for its author, moderators
   * and admins (404 for others). With a token, `likedByMe` says whether the caller likes it.
   */
  @OptionalAuth()
  @PublicCache()
  @Get('by-slug/:slug')
  @ApiProblemResponses(400, 404)
  async bySlug(
    @Param() { slug }: PostSlugParams,
    @Query() _query: NoQueryDto,
    @CurrentUser() viewer: AuthUser | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.getBySlug(slug, viewer), this.clock.now(), viewer);
  }

  /**
   * Get a post
   *
   * @remarks A published post for everyone; a draft, scheduled or archived one only for its author, moderators
   * and admins (404 for others). With a token, `likedByMe` says whether the caller likes it.
   */
  @OptionalAuth()
  @PublicCache()
  @Get(':id')
  @ApiProblemResponses(400, 404)
  async get(
    @Param() { id }: IdParams,
    @Query() _query: NoQueryDto,
    @CurrentUser() viewer: AuthUser | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.get(id, viewer), this.clock.now(), viewer);
  }

  /**
   * Change a post
   *
   * @remarks Changes a post (its author or an admin). Send the `ETag` you read as `If-Match`: a stale one is 412
   * `version_mismatch`. A changed title keeps the slug unless a new one is given. An edit that changes nothing
   * (`{}`, or every field sent as it is) writes nothing: 200 with the post as it is, the same `version` and
   * `ETag`, and no `post.updated` event.
   */
  @Authenticated()
  @ContentWrite()
  @Patch(':id')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 409, 412, 422)
  async update(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser,
    @Body() dto: UpdatePostDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.update(id, viewer, dto, parseIfMatch(ifMatch)), this.clock.now(), viewer);
  }

  /**
   * Publish or schedule a post
   *
   * @remarks Publishes now, or schedules with a future `publishAt`. From `draft` or `archived`, or to reschedule
   * a scheduled post (409 `invalid_transition` for a live one); the category must still exist (422). Counted
   * against `PUBLISH_RATE_MAX_PER_AUTHOR` when the author does it (429 `too_many_publishes`).
   */
  @Authenticated()
  @ContentWrite()
  @Post(':id/publish')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 409, 412, 422)
  async publish(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser,
    @Body() dto: PublishPostDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.publish(id, viewer, dto.publishAt), this.clock.now(), viewer);
  }

  /**
   * Unpublish a post
   *
   * @remarks Takes a published or scheduled post back to draft: out of every feed.
   */
  @Authenticated()
  @ContentWrite()
  @Post(':id/unpublish')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 409, 412)
  async unpublish(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.unpublish(id, viewer), this.clock.now(), viewer);
  }

  /**
   * Archive a post
   *
   * @remarks Archives a post: out of the feeds, still readable by its author and staff.
   */
  @Authenticated()
  @ContentWrite()
  @Post(':id/archive')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 409, 412)
  async archive(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PostDto> {
    return send(res, await this.posts.archive(id, viewer), this.clock.now(), viewer);
  }

  /**
   * Delete a post
   *
   * @remarks Deletes a post with its likes and tag links (its author, moderators or admins).
   */
  @Authenticated()
  @ContentWrite()
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 412)
  async remove(@Param() { id }: IdParams, @CurrentUser() viewer: AuthUser): Promise<void> {
    await this.posts.delete(id, viewer);
  }

  /**
   * Like a post
   *
   * @remarks Likes a published post. Idempotent: a second like changes nothing and the count stays exact under
   * concurrent likes. The answer's likeCount is the post's count as last read plus this like (likes are counted on
   * sharded counters that the change stream folds into the post's likeCount a moment later, so others' likes not
   * folded yet are missing from it); the post's likeCount is exact once the stream has run.
   */
  @Authenticated()
  @ContentWrite()
  @Put(':id/like')
  @ApiProblemResponses(400, 404)
  async like(@Param() { id }: IdParams, @CurrentUser() viewer: AuthUser): Promise<LikeStateDto> {
    return this.posts.setLike(id, viewer, true);
  }

  /**
   * Remove my like
   *
   * @remarks Removes the caller's like. Idempotent. The answer's likeCount is the post's count as last read less this
   * like, never below 0 (see the like); the post's likeCount is exact once the change stream has run.
   */
  @Authenticated()
  @ContentWrite()
  @Delete(':id/like')
  @ApiProblemResponses(400, 404)
  async unlike(@Param() { id }: IdParams, @CurrentUser() viewer: AuthUser): Promise<LikeStateDto> {
    return this.posts.setLike(id, viewer, false);
  }

  /**
   * Count a view
   *
   * @remarks Counts a view of a published post and returns the count, approximately: the count as read plus this
   * view (views are counted on sharded counters that the change stream folds into the post's count a moment later, so
   * views just made by others may be missing from it). A viewer (the signed-in user, or else the client's address: an
   * IPv4 address, an IPv6 /64, whatever the user agent) counts once per post per hour. A client address has a budget of
   * counted views per window on each server instance (`VIEW_RATE_MAX_PER_CLIENT`, 300 an hour by default): past it a
   * view is still answered, 200 with the count as read, and not counted.
   */
  @OptionalAuth()
  @Post(':id/views')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404)
  async view(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser | undefined,
    @Req() req: Request,
  ): Promise<ViewCountDto> {
    const who = this.posts.viewerKey(viewer?.userId, req.ip);
    return { viewCount: await this.posts.addView(id, who, clientSubject(req.ip)) };
  }
}
