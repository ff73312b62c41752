import { Module } from '@nestjs/common';
import { FollowsController } from './follows.controller.js';
import { FollowsRepository } from './follows.repository.js';
import { FollowsService } from './follows.service.js';

/** Follows between users: the edges, the exact counts, the listings. The feed builds on it. */
@Module({
  controllers: [FollowsController],
  providers: [FollowsRepository, FollowsService],
  exports: [FollowsRepository, FollowsService],
})
export class FollowsModule {}
