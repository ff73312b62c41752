import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard, RolesGuard } from './guards.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { ActionLinksModule } from './action-links/action-links.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { TokenService } from './tokens/token.service.js';

/**
 * Sign-in, sessions and tokens. Registers the JWT guard and the roles guard globally (in that
 * order), so every route of every module is protected unless marked `@Public()`.
 */
@Module({
  imports: [UsersModule, SessionsModule, ActionLinksModule, JwtModule.register({})],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    AccessTokenVerifier,
    LoginRateLimiter,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
