import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { ID_PATTERN } from '../../common/ids.js';
import type { UserRole } from '../../users/user.entity.js';

/** The claims of an access token. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  role: UserRole;
}

/** The one signing algorithm; verification accepts nothing else (no `none`, no RS/HS confusion). */
export const JWT_ALGORITHM = 'HS256';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** A refresh token names its session: `<userId>.<sessionId>.<256 random bits>`. */
export interface ParsedRefreshToken {
  userId: string;
  sessionId: string;
  hash: string;
}

@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get accessTokenTtlSeconds(): number {
    return this.config.auth.accessTokenTtlSeconds;
  }

  signAccessToken(claims: AccessTokenClaims): Promise<string> {
    return this.jwt.signAsync(
      { sid: claims.sid, role: claims.role },
      {
        subject: claims.sub,
        algorithm: JWT_ALGORITHM,
        issuer: this.config.auth.jwtIssuer,
        audience: this.config.auth.jwtAudience,
        expiresIn: this.config.auth.accessTokenTtlSeconds,
        secret: this.config.auth.jwtSecret,
      },
    );
  }

  newRefreshToken(userId: string, sessionId: string): { token: string; hash: string } {
    const token = `${userId}.${sessionId}.${randomBytes(32).toString('base64url')}`;
    return { token, hash: sha256(token) };
  }

  parseRefreshToken(token: string): ParsedRefreshToken | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [userId, sessionId, secret] = parts as [string, string, string];
    if (!ID_PATTERN.test(userId) || !ID_PATTERN.test(sessionId) || !/^[A-Za-z0-9_-]{43}$/.test(secret))
      return undefined;
    return { userId, sessionId, hash: sha256(token) };
  }
}
