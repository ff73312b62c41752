import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { UsersModule } from '../users/users.module.js';
import { WorkflowsModule } from '../workflows/workflows.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard, RolesGuard } from './guards.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { ActionLinksModule } from '../identity/action-links/action-links.module.js';
import { SessionsModule } from '../identity/sessions/sessions.module.js';
import { TokenService } from './tokens/token.service.js';

/**
 * Sign-in, sessions and tokens. Registers the JWT guard (`AccessTokenVerifier` on the bearer
 * token) and the roles guard globally (in that order), so every route of every module is
 * protected unless marked `@Public()`.
 */
@Module({
  imports: [UsersModule, WorkflowsModule, SessionsModule, ActionLinksModule, JwtModule.register({})],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    AccessTokenVerifier,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AuthService, AccessTokenVerifier],
})
export class AuthModule {}
