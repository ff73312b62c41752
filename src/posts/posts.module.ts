import { Module } from '@nestjs/common';
import { TaxonomyModule } from '../taxonomy/taxonomy.module.js';
import { UsersModule } from '../users/users.module.js';
import { PostWriteHeat } from './like-heat.js';
import { PostWriteParts } from './post-write-parts.js';
import { PostsController } from './posts.controller.js';
import { PostsRepository } from './posts.repository.js';
import { PostsService } from './posts.service.js';
import { UserPostsController } from './user-posts.controller.js';

@Module({
  imports: [TaxonomyModule, UsersModule],
  controllers: [UserPostsController, PostsController],
  providers: [PostsRepository, PostsService, PostWriteParts, PostWriteHeat],
  // PostWriteParts: the writes on a post that other modules' transactions carry (a comment's);
  // PostWriteHeat: the instance's heat of a post, which the comments' writes feed.
  exports: [PostsRepository, PostsService, PostWriteParts, PostWriteHeat],
})
export class PostsModule {}
