import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { UserRole } from '../users/user.entity.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import type { AuthUser } from './auth-user.js';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators.js';

type AuthenticatedRequest = Request & { user?: AuthUser };

/**
 * The global authentication guard. Every route needs a valid bearer token unless marked
 * `@Public()`; a public route still authenticates a token that is sent (so it can say
 * `likedByMe`), but does not require one. It holds no global state (unlike a Passport
 * strategy registry), so several apps can run in one process, as the e2e suites do.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (header === undefined) {
      if (isPublic) return true;
      throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized(ErrorCode.InvalidToken, 'Send the access token as `Authorization: Bearer <token>`.');
    request.user = await this.verifier.verify(match[1]);
    return true;
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
