import {
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessTokenVerifier } from '../auth/access-token.verifier.js';
import type { AuthUser } from '../identity/auth-user.js';
import { AUTH_MODE, AUTH_MODE_EXTENSION, type AuthMode, type ConduitAuthMode } from '../identity/auth.decorators.js';
import { unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ConduitErrors } from './conduit-errors.filter.js';
import { ContentWriteGuard } from '../identity/content-write.guard.js';

const CONDUIT_AUTH = 'conduit:auth';
type ConduitGuardMode = 'required' | 'optional';
type CanActivateClass = new (...args: never[]) => CanActivate;

export type ConduitRequest = Request & { user?: AuthUser; conduitToken?: string };

/** `Token <jwt>` as the RealWorld spec says, and `Bearer <jwt>` as most HTTP tooling sends. */
// Spaces or tabs between the scheme and the token, as the native guard (review 17a L4): `\s` would
// also take a no-break space or a line break.
const SCHEME = /^(?:Token|Bearer)[ \t]+(\S+)$/i;

/**
 * Authentication of the Conduit routes. They are public to the global JWT guard (which reads only
 * `Bearer`); this guard reads either scheme and checks the token with the same verifier, so a
 * revoked session or a suspended account is refused here exactly as on the native API.
 */
@Injectable()
export class ConduitAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const mode = this.reflector.getAllAndOverride<ConduitGuardMode | undefined>(CONDUIT_AUTH, [
      context.getHandler(),
      context.getClass(),
    ]);
    const req = context.switchToHttp().getRequest<ConduitRequest>();
    // The answer differs with and without a token (`favorited`, `following`): a shared cache must
    // not hand an anonymous one to a signed-in reader (review 19a, Notes), as on the native
    // `@OptionalAuth()` routes. Set before anything can refuse, so errors carry it too.
    if (mode === 'optional') context.switchToHttp().getResponse<Response>().vary('Authorization');
    const header = req.headers.authorization;
    if (header === undefined) {
      if (mode === 'optional') return true;
      throw unauthorized(ErrorCode.MissingToken, 'A token is required: send `Authorization: Token <token>`.');
    }
    const token = SCHEME.exec(header)?.[1];
    if (!token) throw unauthorized(ErrorCode.InvalidToken, 'Send the token as `Authorization: Token <token>`.');
    req.user = await this.verifier.verify(token);
    req.conduitToken = token;
    return true;
  }
}

/**
 * `guards` run after ConduitAuthGuard, in one `UseGuards` list: decorators apply bottom-up and
 * `UseGuards` appends, so guards given by a separate decorator would run in the order the
 * decorators happen to be written (review 19a, H1).
 */
const conduitRoute = (mode: ConduitGuardMode, ...guards: CanActivateClass[]) =>
  applyDecorators(
    // The global guard lets the route through; ConduitAuthGuard decides.
    SetMetadata(AUTH_MODE, 'public' satisfies AuthMode),
    SetMetadata(CONDUIT_AUTH, mode),
    ApiExtension(AUTH_MODE_EXTENSION, (mode === 'required' ? 'conduit' : 'conduit-optional') satisfies ConduitAuthMode),
    UseGuards(ConduitAuthGuard, ...guards),
    ConduitErrors(401, 403),
  );

/** A Conduit route that needs a token (401 without one). */
export const ConduitAuthenticated = () => conduitRoute('required');

/** A Conduit route that personalises its answer (`following`, `favorited`) for a valid token; `Vary: Authorization`. */
export const ConduitOptionalAuth = () => conduitRoute('optional');

/**
 * A content write (article, comment, favorite, follow): authenticated as `ConduitAuthenticated`
 * (use it instead of that), then counted against the shared per-account limit (429).
 */
export const ConduitContentWrite = () =>
  applyDecorators(conduitRoute('required', ContentWriteGuard), ConduitErrors(429));

/** A Conduit route that reads no token (registration, sign-in, tags). */
export const ConduitPublic = () =>
  applyDecorators(
    SetMetadata(AUTH_MODE, 'public' satisfies AuthMode),
    ApiExtension(AUTH_MODE_EXTENSION, 'conduit-public' satisfies ConduitAuthMode),
  );
