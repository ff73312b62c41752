import { type ExecutionContext, Injectable, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { DomainError, forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { UserRole } from '../users/user.entity.js';
import type { AuthUser } from './auth-user.js';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators.js';

/**
 * The global authentication guard. Every route needs a valid bearer token unless marked
 * `@Public()`; a public route still authenticates a token that is sent (so it can say
 * `likedByMe`), but does not require one.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic && !context.switchToHttp().getRequest<Request>().headers.authorization) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser = AuthUser>(error: unknown, user: TUser | false, info: unknown): TUser {
    if (error instanceof DomainError || error instanceof Error) throw error;
    if (user) return user;
    const name = info instanceof Error ? info.name : '';
    const message = info instanceof Error ? info.message : '';
    if (name === 'TokenExpiredError') throw unauthorized(ErrorCode.TokenExpired, 'The access token has expired.');
    if (/no auth token/i.test(message)) throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    throw unauthorized(ErrorCode.InvalidToken, 'The access token is invalid.');
  }
}

/** Enforces `@Roles(...)` with the role read from the user item by the JWT strategy. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<UserRole[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles || roles.length === 0) return true;
    const user = context.switchToHttp().getRequest<Request & { user?: AuthUser }>().user;
    if (!user) throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    if (!roles.includes(user.role)) throw forbidden(ErrorCode.InsufficientRole, 'Your role does not allow this.');
    return true;
  }
}
