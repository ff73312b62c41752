import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { ApiBearerAuth, ApiExtension } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import type { UserRole } from './account.js';
import type { AuthUser } from './auth-user.js';

export const AUTH_MODE = 'auth:mode';
/** Marks the routes an account suspended for its erasure may still call: its own erase, and signing out. */
export const ERASURE_RETRY = 'auth:erasureRetry';
export const REQUIRED_ROLES = 'auth:roles';
/**
 * How a route authenticates, for the guard and for the OpenAPI document (`buildOpenApiDocument`
 * turns this extension into the operation's `security`): `public` routes ignore any token,
 * `optional` ones personalise the answer for a valid token and refuse a bad one.
 */
export const AUTH_MODE_EXTENSION = 'x-auth-mode';
export type AuthMode = 'public' | 'optional';
/** How a Conduit route (src/conduit) is documented: its own `Token` scheme, required or optional. */
export type ConduitAuthMode = 'conduit' | 'conduit-optional' | 'conduit-public';

/**
 * Opens a route to anonymous callers (the JWT guard is global). An `Authorization` header is not
 * read at all: an expired token left on a client must not break sign-in, refresh or a probe.
 */
export const Public = () =>
  applyDecorators(SetMetadata(AUTH_MODE, 'public' satisfies AuthMode), ApiExtension(AUTH_MODE_EXTENSION, 'public'));

/**
 * A public route that personalises its answer for a signed-in viewer (drafts for their author,
 * `likedByMe`, one view per user): no token is fine, a sent token must be valid (401 otherwise,
 * so a client learns its token expired instead of silently seeing the anonymous answer).
 */
export const OptionalAuth = () =>
  applyDecorators(
    SetMetadata(AUTH_MODE, 'optional' satisfies AuthMode),
    ApiExtension(AUTH_MODE_EXTENSION, 'optional'),
    ApiProblemResponses(401),
  );

/**
 * Documents a route as needing a bearer token: the lock in Swagger UI, 401 for a missing,
 * invalid or revoked token, 403 for a suspended account (or a role that is not enough).
 */
export const Authenticated = () => applyDecorators(ApiBearerAuth(), ApiProblemResponses(401, 403));

/**
 * The owner's erase (`DELETE /users/me`): an account suspended for its erasure, which did not finish,
 * may call it to retry (review 17a L1), sign out (`logout`, `logout-all`: review 18d L2, to end the
 * sessions opened for the retry), and list and end its sessions (`GET /auth/sessions`,
 * `DELETE /auth/sessions/{id}`: session 19); every other route refuses it with `403 account_suspended`.
 */
export const ErasureRetry = () => SetMetadata(ERASURE_RETRY, true);

/** Restricts a route to some roles (403 `insufficient_role` for others). Implies `@Authenticated()`. */
export const Roles = (...roles: UserRole[]) => applyDecorators(SetMetadata(REQUIRED_ROLES, roles), Authenticated());

/** The caller, as set by the JWT strategy (undefined on public routes without a token). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser | undefined =>
    context.switchToHttp().getRequest<Request & { user?: AuthUser }>().user,
);

/**
 * Whether a route never reads the `Authorization` header, so that its answer is the same for every
 * caller (the public page cache ignores the header there): `@Public()` to the global guard (the
 * handler's mode, else its controller's, as the guard reads it) and no guard of its own, which could
 * authenticate after all (the Conduit routes are `public` to the global guard; review 17a M1).
 */
export function readsNoToken(handler: object, controller: object): boolean {
  const mode = (Reflect.getMetadata(AUTH_MODE, handler) ?? Reflect.getMetadata(AUTH_MODE, controller)) as
    AuthMode | undefined;
  return (
    mode === 'public' &&
    !Reflect.getMetadata(GUARDS_METADATA, handler) &&
    !Reflect.getMetadata(GUARDS_METADATA, controller)
  );
}
