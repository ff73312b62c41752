import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser } from '../identity/auth.decorators.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DEFAULT_PAGE_SIZE } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { PostPageDto } from '../posts/dto/post.dto.js';
import { PostMapper } from '../posts/post.mapper.js';
import { PersonalFeedQueryDto } from './dto/feed-query.dto.js';
import { FeedService } from './feed.service.js';

@ApiTags('feed')
@Controller('feed')
export class FeedController {
  constructor(
    private readonly feed: FeedService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * My feed
   *
   * @remarks Published posts of the authors you follow, newest first, in cursor pages. A post reaches it shortly
   * after publication (the stream processor writes it into followers' timelines); unfollowing, unpublishing and
   * deleting take effect at once. A page short of posts filtered out that way reads on for the missing count (at
   * most 2 more reads), so it may hold fewer than `limit` posts, and is empty with a `nextCursor` only when 3 reads
   * in a row found none to show: follow `nextCursor` until it is null. Three DynamoDB calls a page however many
   * authors you follow, plus one Query per followed author with more than FEED_FANOUT_MAX_FOLLOWERS followers (at
   * most 100); a short page 2 more calls (plus those Queries) per further read.
   */
  @Authenticated()
  @Get()
  @ApiProblemResponses(400)
  async page(@CurrentUser() viewer: AuthUser, @Query() query: PersonalFeedQueryDto): Promise<PostPageDto> {
    const page = await this.feed.page(viewer.userId, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    const now = this.clock.now();
    return { items: page.items.map((post) => PostMapper.summary(post, now)), nextCursor: page.nextCursor };
  }
}
