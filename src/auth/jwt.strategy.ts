import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { forbidden, unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AuthUser } from './auth-user.js';
import { SessionsRepository } from './sessions/sessions.repository.js';
import { JWT_ALGORITHM } from './tokens/token.service.js';

interface JwtPayload {
  sub?: unknown;
  sid?: unknown;
}

/**
 * Verifies the signature (HS256 only), issuer, audience and expiry, then loads the session and
 * the user in one consistent read: a revoked or expired session, or a suspended or deleted
 * user, is refused on the very next request. The role comes from the user item, not the token.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sessions: SessionsRepository,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.auth.jwtSecret,
      algorithms: [JWT_ALGORITHM],
      issuer: config.auth.jwtIssuer,
      audience: config.auth.jwtAudience,
      ignoreExpiration: false,
    });
  }

  async validate(payload: JwtPayload): Promise<AuthUser> {
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
      throw unauthorized(ErrorCode.InvalidToken, 'The access token is invalid.');
    }
    const { session, user } = await this.sessions.findWithUser(payload.sub, payload.sid);
    if (!session || !user || new Date(session.expiresAt) <= new Date()) {
      throw unauthorized(ErrorCode.SessionRevoked, 'The session has ended; sign in again.');
    }
    if (user.status === 'suspended') throw forbidden(ErrorCode.AccountSuspended, 'The account is suspended.');
    if (user.status === 'inactive') throw unauthorized(ErrorCode.SessionRevoked, 'The session has ended.');
    return {
      userId: user.id,
      sessionId: session.id,
      role: user.role,
      status: user.status,
      email: user.email,
      emailVerified: user.emailVerified,
    };
  }
}
