import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import type { UserRole } from '../users/user.entity.js';
import type { AuthUser } from './auth-user.js';

export const IS_PUBLIC = 'auth:isPublic';
export const REQUIRED_ROLES = 'auth:roles';

/** Opens a route to anonymous callers (the JWT guard is global). A bearer token is still read if sent. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Documents a route as needing a bearer token: the lock in Swagger UI, 401 for a missing,
 * invalid or revoked token, 403 for a suspended account (or a role that is not enough).
 */
export const Authenticated = () => applyDecorators(ApiBearerAuth(), ApiProblemResponses(401, 403));

/** Restricts a route to some roles (403 `insufficient_role` for others). Implies `@Authenticated()`. */
export const Roles = (...roles: UserRole[]) => applyDecorators(SetMetadata(REQUIRED_ROLES, roles), Authenticated());

/** The caller, as set by the JWT strategy (undefined on public routes without a token). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser | undefined =>
    context.switchToHttp().getRequest<Request & { user?: AuthUser }>().user,
);
