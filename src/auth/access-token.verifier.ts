import { authorDisplayOf } from '../identity/author-display.js';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { ID_PATTERN } from '../common/ids.js';
import { isErasurePending } from '../identity/account.js';
import type { AuthUser } from '../identity/auth-user.js';
import { cutoffOf } from '../identity/sessions/session.entity.js';
import { SessionsRepository } from '../identity/sessions/sessions.repository.js';
import { JWT_ALGORITHM, jwtKeyOf } from './tokens/token.service.js';
import { systemClock } from '../common/clock/clock.js';

interface AccessTokenPayload {
  sub?: unknown;
  sid?: unknown;
  exp?: unknown;
  iat?: unknown;
}

const isEpochSeconds = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/**
 * The claims every access token must carry. The JWT library checks `exp` only when it is
 * present, so a token minted without one (a leaked secret, a test tool) would never expire:
 * here a missing or malformed `exp`, `iat`, `sub` or `sid`, or an `iat` in the future, is 401.
 */
export function hasRequiredClaims(
  payload: AccessTokenPayload,
  nowSeconds = Math.floor(systemClock.now().getTime() / 1000),
): boolean {
  return (
    typeof payload.sub === 'string' &&
    ID_PATTERN.test(payload.sub) &&
    typeof payload.sid === 'string' &&
    ID_PATTERN.test(payload.sid) &&
    isEpochSeconds(payload.exp) &&
    isEpochSeconds(payload.iat) &&
    payload.iat <= nowSeconds + 60 &&
    payload.exp > payload.iat
  );
}

/**
 * Verifies an access token: the signature with the one pinned algorithm (so `alg: none` and
 * algorithm confusion fail), issuer, audience and expiry; then loads the session and the user
 * in one consistent read, so a revoked or expired session, or a suspended or deleted user, is
 * refused on the very next request. The role comes from the user item, not from the token.
 */
@Injectable()
export class AccessTokenVerifier {
  constructor(
    private readonly jwt: JwtService,
    private readonly sessions: SessionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * `erasureRetry`: the route is the owner's erase or a sign-out (`@ErasureRetry()`), which an account
   * suspended for its erasure may still call (review 17a L1, 18d L2); everywhere else it is
   * `403 account_suspended`.
   */
  async verify(token: string, options: { erasureRetry?: boolean } = {}): Promise<AuthUser> {
    let payload: AccessTokenPayload;
    try {
      payload = await this.jwt.verifyAsync<AccessTokenPayload>(token, {
        // A KeyObject, which jsonwebtoken takes; only @nestjs/jwt's verify types say string | Buffer.
        publicKey: jwtKeyOf(this.config.auth) as unknown as Buffer,
        algorithms: [JWT_ALGORITHM],
        issuer: this.config.auth.jwtIssuer,
        audience: this.config.auth.jwtAudience,
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'TokenExpiredError') {
        throw unauthorized(ErrorCode.TokenExpired, 'The access token has expired.');
      }
      throw unauthorized(ErrorCode.InvalidToken, 'The access token is invalid.');
    }
    if (!hasRequiredClaims(payload)) throw unauthorized(ErrorCode.InvalidToken, 'The access token is invalid.');
    const { session, user } = await this.sessions.findWithUser(payload.sub as string, payload.sid as string);
    if (!session || !user || user.status === 'inactive') {
      throw unauthorized(ErrorCode.SessionRevoked, 'The session has ended; sign in again.');
    }
    if (user.status === 'suspended' && !(options.erasureRetry === true && isErasurePending(user))) {
      throw forbidden(
        ErrorCode.AccountSuspended,
        isErasurePending(user)
          ? 'The account is being erased: only `DELETE /users/me?mode=erase`, signing out and the session list may be called.'
          : 'The account is suspended.',
      );
    }
    return {
      userId: user.id,
      sessionId: session.id,
      role: user.role,
      status: user.status,
      email: user.email,
      emailVerified: user.emailVerified,
      sessionCutoff: cutoffOf(user),
      display: authorDisplayOf(user),
    };
  }
}
