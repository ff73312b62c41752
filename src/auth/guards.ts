import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { UserRole } from '../identity/account.js';
import { AuthGuard } from '@nestjs/passport';
import { JWT_STRATEGY } from './jwt.strategy.js';
import type { AuthUser } from '../identity/auth-user.js';
import { AUTH_MODE, type AuthMode, REQUIRED_ROLES } from '../identity/auth.decorators.js';

type AuthenticatedRequest = Request & { user?: AuthUser };

/**
 * The global authentication guard: Passport's `AuthGuard('jwt')` (see `JwtStrategy`) with our
 * answers. Every route needs a valid bearer token unless marked `@Public()` (no token read) or
 * `@OptionalAuth()` (a token that is sent is authenticated, so the answer can be personalised,
 * but none is required).
 * Failures keep the problem+json codes clients branch on: `missing_token`, `invalid_token`,
 * `token_expired`, and whatever the verifier decides (`session_revoked`, `account_suspended`).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard(JWT_STRATEGY) {
  constructor(private readonly reflector: Reflector) {
    super({ session: false });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const mode = this.reflector.getAllAndOverride<AuthMode | undefined>(AUTH_MODE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (mode === 'public') return true;
    const header = context.switchToHttp().getRequest<AuthenticatedRequest>().headers.authorization;
    if (header === undefined) {
      if (mode === 'optional') return true;
      throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    }
    // passport-jwt would call a malformed header "no token"; it is a wrong one.
    if (!/^Bearer\s+\S+$/i.test(header)) {
      throw unauthorized(ErrorCode.InvalidToken, 'Send the access token as `Authorization: Bearer <token>`.');
    }
    return (await super.canActivate(context)) as boolean;
  }

  /** Turns Passport's outcome into our errors: the verifier's own, or one from passport-jwt's `info`. */
  override handleRequest<TUser = AuthUser>(error: unknown, user: TUser | false, info: unknown): TUser {
    if (error) throw error instanceof Error ? error : new Error('Authentication failed');
    if (user) return user;
    if (info instanceof Error && info.name === 'TokenExpiredError') {
      throw unauthorized(ErrorCode.TokenExpired, 'The access token has expired.');
    }
    throw unauthorized(ErrorCode.InvalidToken, 'The access token is invalid.');
  }
}

/** Enforces `@Roles(...)` with the role read from the user item by the token verifier. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<UserRole[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles || roles.length === 0) return true;
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user) throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    if (!roles.includes(user.role)) throw forbidden(ErrorCode.InsufficientRole, 'Your role does not allow this.');
    return true;
  }
}
