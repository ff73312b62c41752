import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, Public } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ContentWrite } from '../identity/content-write.guard.js';
import { FollowListPageDto, FollowStateDto } from './dto/follow.dto.js';
import { FollowsService } from './follows.service.js';

@ApiTags('follows')
@Controller('users')
export class FollowsController {
  constructor(private readonly follows: FollowsService) {}

  /**
   * Follow a user
   *
   * @remarks Idempotent: following again changes nothing. Not yourself (422 `cannot_follow_self`), not a
   * deactivated or unknown account (404). The user's posts reach your feed (`GET /feed`) from their next
   * publication on.
   */
  @Authenticated()
  @ContentWrite()
  @Put(':id/follow')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 422)
  follow(@CurrentUser() viewer: AuthUser, @Param() { id }: IdParams): Promise<FollowStateDto> {
    return this.follows.follow(viewer.userId, id);
  }

  /**
   * Unfollow a user
   *
   * @remarks Idempotent: unfollowing someone you do not follow changes nothing. Their posts leave your feed at
   * once. A deactivated account can still be unfollowed (it stays in your `followingCount` until then, though no
   * listing shows it); an unknown one is 404.
   */
  @Authenticated()
  @ContentWrite()
  @Delete(':id/follow')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 404, 422)
  unfollow(@CurrentUser() viewer: AuthUser, @Param() { id }: IdParams): Promise<FollowStateDto> {
    return this.follows.unfollow(viewer.userId, id);
  }

  /**
   * List a user's followers
   *
   * @remarks Newest follow first: one index Query and one BatchGetItem per page. 404 for a deactivated or unknown
   * account. Deactivated accounts are left out of the page; a page short by them reads on for the missing count (at
   * most 2 more reads), so it is empty with a `nextCursor` only when 3 reads in a row found no one to show.
   */
  @Public()
  @Get(':id/followers')
  @ApiProblemResponses(400, 404)
  followers(@Param() { id }: IdParams, @Query() query: PageQueryDto): Promise<FollowListPageDto> {
    return this.follows.followers(id, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
  }

  /**
   * List whom a user follows
   *
   * @remarks Newest follow first: one index Query and one BatchGetItem per page. 404 for a deactivated or unknown
   * account. Deactivated accounts are left out of the page; a page short by them reads on for the missing count (at
   * most 2 more reads), so it is empty with a `nextCursor` only when 3 reads in a row found no one to show.
   */
  @Public()
  @Get(':id/following')
  @ApiProblemResponses(400, 404)
  following(@Param() { id }: IdParams, @Query() query: PageQueryDto): Promise<FollowListPageDto> {
    return this.follows.following(id, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
  }
}
