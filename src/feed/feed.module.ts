import { Module } from '@nestjs/common';
import { FollowsModule } from '../follows/follows.module.js';
import { PostsModule } from '../posts/posts.module.js';
import { FeedController } from './feed.controller.js';
import { FeedFanout } from './feed-fanout.js';
import { FeedService } from './feed.service.js';
import { TimelineRepository } from './timeline.repository.js';

/** The personal feed: timelines written by the stream processor's fan-out, merged with fan-in authors on read. */
@Module({
  imports: [FollowsModule, PostsModule],
  controllers: [FeedController],
  providers: [TimelineRepository, FeedService, FeedFanout],
  exports: [TimelineRepository, FeedService, FeedFanout],
})
export class FeedModule {}
