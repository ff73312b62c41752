import { Module } from '@nestjs/common';
import { PostsModule } from '../posts/posts.module.js';
import { UsersModule } from '../users/users.module.js';
import { CommentListsController, CommentsController } from './comments.controller.js';
import { CommentsRepository } from './comments.repository.js';
import { CommentsService } from './comments.service.js';

@Module({
  imports: [PostsModule, UsersModule],
  controllers: [CommentsController, CommentListsController],
  providers: [CommentsRepository, CommentsService],
  exports: [CommentsService, CommentsRepository],
})
export class CommentsModule {}
