import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { CommentsModule } from '../comments/comments.module.js';
import { FeedModule } from '../feed/feed.module.js';
import { FollowsModule } from '../follows/follows.module.js';
import { PostsModule } from '../posts/posts.module.js';
import { TaxonomyModule } from '../taxonomy/taxonomy.module.js';
import { UsersModule } from '../users/users.module.js';
import { ConduitArticlesController } from './conduit-articles.controller.js';
import { ConduitAuthGuard } from './conduit-auth.js';
import { ConduitUsersController } from './conduit-users.controller.js';
import { ConduitService } from './conduit.service.js';

/**
 * The RealWorld ("Conduit") API under `/api`: an adapter over the native modules' services
 * (docs/conduit.md). Left out of the app when `CONDUIT_API=off`.
 */
@Module({
  imports: [AuthModule, UsersModule, PostsModule, CommentsModule, TaxonomyModule, FollowsModule, FeedModule],
  controllers: [ConduitUsersController, ConduitArticlesController],
  providers: [ConduitService, ConduitAuthGuard],
})
export class ConduitModule {}
