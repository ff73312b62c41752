import { Module } from '@nestjs/common';
import { TaxonomyModule } from '../taxonomy/taxonomy.module.js';
import { PostWriteParts } from './post-write-parts.js';
import { PostsController } from './posts.controller.js';
import { PostsRepository } from './posts.repository.js';
import { PostsService } from './posts.service.js';
import { UserPostsController } from './user-posts.controller.js';

@Module({
  imports: [TaxonomyModule],
  controllers: [UserPostsController, PostsController],
  providers: [PostsRepository, PostsService, PostWriteParts],
  // PostWriteParts: the writes on a post that other modules' transactions carry (a comment's).
  exports: [PostsRepository, PostsService, PostWriteParts],
})
export class PostsModule {}
