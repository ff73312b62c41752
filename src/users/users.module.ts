import { Module } from '@nestjs/common';
import { ActionLinksModule } from '../identity/action-links/action-links.module.js';
import { SessionsModule } from '../identity/sessions/sessions.module.js';
import { AdminBootstrap } from './admin-bootstrap.js';
import { MeController } from './me.controller.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersAdminController } from './users-admin.controller.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { FollowsModule } from '../follows/follows.module.js';

@Module({
  imports: [SessionsModule, ActionLinksModule, FollowsModule],
  // MeController first: `/users/me` must win over `/users/{id}`.
  controllers: [MeController, UsersAdminController, UsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, AdminBootstrap],
  exports: [UsersService, UsersRepository, PasswordHasher],
})
export class UsersModule {}
