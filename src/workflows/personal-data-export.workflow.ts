import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { ExportContentBudget } from '../common/export/content-budget.js';
import { RateLimiter } from '../dynamo/rate-limiter.js';
import { CommentsService } from '../comments/comments.service.js';
import { type FollowsExport, FollowsService } from '../follows/follows.service.js';
import { PostsService } from '../posts/posts.service.js';
import { type AccountPersonalData, UsersService } from '../users/users.service.js';
import type { CommentDto } from '../comments/dto/comment.dto.js';
import type { PostDto } from '../posts/dto/post.dto.js';

export interface PersonalDataExport extends AccountPersonalData {
  posts: PostDto[];
  comments: CommentDto[];
  likes: { postId: string; likedAt: string }[];
  commentLikes: { postId: string; commentId: string }[];
  follows: FollowsExport;
}

/**
 * Everything held about a user (`GET /users/me/export`), from each module that holds some:
 * queries of the user's own collections only, never of anyone else's. A module that stores new
 * personal data adds its section here (and to `PersonalDataExportDto`).
 */
@Injectable()
export class PersonalDataExportWorkflow {
  constructor(
    private readonly users: UsersService,
    private readonly posts: PostsService,
    private readonly comments: CommentsService,
    private readonly follows: FollowsService,
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Bounded three times: EXPORT_RATE_MAX_PER_ACCOUNT exports per window (429 before anything is
   * read), EXPORT_MAX_ITEMS items per section and EXPORT_MAX_CONTENT_CHARS characters of content in
   * all (422 `export_too_large` once passed), so one request reads at most sections x (max + a page).
   */
  async export(userId: string): Promise<PersonalDataExport> {
    await this.limiter.consume([{ rule: this.config.rateLimits.exportPerAccount, subject: userId }]);
    const now = this.clock.now();
    const max = this.config.exportMaxItems;
    // One budget for the free text of every section (posts' and comments' contents).
    const contentBudget = new ExportContentBudget(this.config.exportMaxContentChars);
    return {
      ...(await this.users.accountPersonalData(userId, now, max)),
      posts: await this.posts.postsForExport(userId, now, max, contentBudget),
      likes: await this.posts.likesForExport(userId, max),
      comments: await this.comments.commentsForExport(userId, max, contentBudget),
      commentLikes: await this.comments.commentLikesForExport(userId, max),
      follows: await this.follows.followsForExport(userId, max),
    };
  }
}
