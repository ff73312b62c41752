import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { bindAuthContext, JwtStrategy } from './jwt.strategy.js';
import { UsersModule } from '../users/users.module.js';
import { WorkflowsModule } from '../workflows/workflows.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard, RolesGuard } from './guards.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { ActionLinksModule } from '../identity/action-links/action-links.module.js';
import { SessionsModule } from '../identity/sessions/sessions.module.js';
import { jwtKeyOf, TokenService } from './tokens/token.service.js';

/**
 * Sign-in, sessions and tokens. Registers the JWT guard (Passport, `AuthGuard('jwt')`) and the
 * roles guard globally (in that order), so every route of every module is protected unless
 * marked `@Public()`.
 */
@Module({
  imports: [UsersModule, WorkflowsModule, SessionsModule, ActionLinksModule, JwtModule.register({}), PassportModule],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    AccessTokenVerifier,
    JwtStrategy,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AuthService, AccessTokenVerifier],
})
export class AuthModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly verifier: AccessTokenVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Binds this app's secret and verifier to its Express app, where `JwtStrategy` finds them per request. */
  onModuleInit(): void {
    const express = this.adapterHost.httpAdapter?.getInstance<{ locals: object } | undefined>();
    if (express?.locals) bindAuthContext(express, { key: jwtKeyOf(this.config.auth), verifier: this.verifier });
  }
}
