import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { UserRole } from '../identity/account.js';
import type { AuthUser } from '../identity/auth-user.js';
import { AUTH_MODE, type AuthMode, ERASURE_RETRY, REQUIRED_ROLES } from '../identity/auth.decorators.js';
import { AccessTokenVerifier } from './access-token.verifier.js';

type AuthenticatedRequest = Request & { user?: AuthUser };

/**
 * `Bearer <token>`, the scheme in any case, as RFC 6750 and most HTTP tooling send it. Between
 * them spaces (RFC 7235's `1*SP`) or tabs, which some tooling sends; not `\s`, whose Unicode
 * spaces (a no-break space, a line separator) no client means as a separator (review 17a L4).
 */
const BEARER = /^Bearer[ \t]+(\S+)$/i;

/**
 * The global authentication guard. Every route needs a valid bearer token unless marked
 * `@Public()` (no token read) or `@OptionalAuth()` (a token that is sent is authenticated, so the
 * answer can be personalised, but none is required). The token is checked once, by this app's
 * `AccessTokenVerifier` (from Nest's injector, so two app instances in one process never share
 * one: no process-wide strategy registry as with Passport), which also loads session and user.
 * Failures keep the problem+json codes clients branch on: `missing_token`, `invalid_token`, and
 * the verifier's `token_expired`, `session_revoked`, `account_suspended`.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const mode = this.reflector.getAllAndOverride<AuthMode | undefined>(AUTH_MODE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (mode === 'public') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    if (header === undefined) {
      if (mode === 'optional') return true;
      throw unauthorized(ErrorCode.MissingToken, 'A bearer token is required.');
    }
    // A header that is sent but malformed is a wrong token, not an absent one (also where optional).
    const token = BEARER.exec(header)?.[1];
    if (!token) throw unauthorized(ErrorCode.InvalidToken, 'Send the access token as `Authorization: Bearer <token>`.');
    const erasureRetry = this.reflector.get<boolean | undefined>(ERASURE_RETRY, context.getHandler()) === true;
    req.user = await this.verifier.verify(token, erasureRetry ? { erasureRetry } : undefined);
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
