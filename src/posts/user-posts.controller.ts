import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, Public, Roles } from '../identity/auth.decorators.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import type { Page } from '../dynamo/pagination.js';
import { OwnPostsQueryDto, PostPageDto } from './dto/post.dto.js';
import type { PostSummary } from './post.entity.js';
import { PostMapper } from './post.mapper.js';
import { PostsService } from './posts.service.js';
import { UsersService } from '../users/users.service.js';

const toPage = (page: Page<PostSummary>, now: Date): PostPageDto => ({
  items: page.items.map((post) => PostMapper.summary(post, now)),
  nextCursor: page.nextCursor,
});

/** Posts seen from a user: their published posts, the caller's own posts and likes, an admin's view of anyone's. */
@ApiTags('posts')
@Controller('users')
export class UserPostsController {
  constructor(
    private readonly posts: PostsService,
    private readonly users: UsersService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * List my posts
   *
   * @remarks The caller's posts in any status (or only `status=`), newest first, one index Query per page.
   * `scheduled` and `published` share one index partition, each leaving the other out after the read: a page short
   * of them reads on for the missing count (at most 2 more reads), so it may hold fewer than `limit`, and is empty
   * with a `nextCursor` only when 3 reads in a row found none to show: page on until `nextCursor` is null.
   */
  @Authenticated()
  @Get('me/posts')
  @ApiProblemResponses(400)
  async own(@CurrentUser() viewer: AuthUser, @Query() query: OwnPostsQueryDto): Promise<PostPageDto> {
    return toPage(
      await this.posts.ownPosts(viewer.userId, query.status, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor),
      this.clock.now(),
    );
  }

  /**
   * List the posts I like
   *
   * @remarks The published posts the caller likes, newest like first (a like of a post republished since sorts from its republication; one of a post withdrawn is not listed until it is back).
   * A page short of likes of posts withdrawn or deleted (before the stream processor moved or removed them) reads
   * on for the missing count (at most 2 more reads), so it may hold fewer than `limit`, and is empty with a
   * `nextCursor` only when 3 reads in a row found none to show: page on until `nextCursor` is null.
   */
  @Authenticated()
  @Get('me/likes')
  @ApiProblemResponses(400)
  async likes(@CurrentUser() viewer: AuthUser, @Query() query: PageQueryDto): Promise<PostPageDto> {
    return toPage(
      await this.posts.likedBy(viewer.userId, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor),
      this.clock.now(),
    );
  }

  /**
   * List a user's posts in any status (admin)
   *
   * @remarks Any user's posts in any status (or only `status=`), newest first, one index Query per page (a page of
   * `scheduled` or `published` short of the other reads on, at most 2 more times), as
   * `GET /users/me/posts` lists them for their author: an admin sees what a suspended or deactivated author has
   * pending (their scheduled posts withdrawn to draft) or what a moderated author keeps as drafts. A cursor is
   * bound to the user's list (`/users/me/posts` of the same user and status: the same list). 404 `user_not_found`
   * for an id that has no account (never created, or erased: an erased user's posts are credited to
   * `deleted-user`).
   */
  @Roles('admin')
  @Get(':id/posts/all')
  @ApiProblemResponses(400, 404)
  async anyStatus(@Param() { id }: IdParams, @Query() query: OwnPostsQueryDto): Promise<PostPageDto> {
    return toPage(
      await this.users.pageOfExisting(
        id,
        this.posts.ownPosts(id, query.status, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor),
      ),
      this.clock.now(),
    );
  }

  /**
   * List a user's published posts
   *
   * @remarks A user's published posts, newest first, one index Query per page. A deactivated account's list
   * is empty, as an unknown user's (its profile is 404); its posts stay in the other feeds and by id or slug.
   */
  @Public()
  @Get(':id/posts')
  @ApiProblemResponses(400)
  async byAuthor(@Param() { id }: IdParams, @Query() query: PageQueryDto): Promise<PostPageDto> {
    return toPage(
      await this.users.pageOfShown(id, this.posts.feed({ author: id }, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor)),
      this.clock.now(),
    );
  }
}
