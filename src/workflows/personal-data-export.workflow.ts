import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
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
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async export(userId: string): Promise<PersonalDataExport> {
    const now = this.clock.now();
    return {
      ...(await this.users.accountPersonalData(userId, now)),
      posts: await this.posts.postsForExport(userId, now),
      likes: await this.posts.likesForExport(userId),
      comments: await this.comments.commentsForExport(userId),
      commentLikes: await this.comments.commentLikesForExport(userId),
      follows: await this.follows.followsForExport(userId),
    };
  }
}
