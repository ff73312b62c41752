import { createHash, createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { ID_PATTERN } from '../../common/ids.js';
import type { UserRole } from '../../identity/account.js';
import { derivedKey } from '../../common/derived-key.js';

/** The claims of an access token. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  role: UserRole;
}

/** The one signing algorithm; verification accepts nothing else (no `none`, no RS/HS confusion). */
export const JWT_ALGORITHM = 'HS256';

const jwtKeys = new WeakMap<AppConfig['auth'], KeyObject>();

/**
 * The HS256 key of an app's configuration as a `KeyObject`, made once. Given a string secret,
 * `jsonwebtoken` first tries (and fails) `createPublicKey` on every verify: ~0.37 ms against
 * ~0.01 ms with a KeyObject, on every authenticated request and every token signed.
 */
export function jwtKeyOf(auth: AppConfig['auth']): KeyObject {
  let key = jwtKeys.get(auth);
  if (!key) {
    key = createSecretKey(Buffer.from(auth.jwtSecret, 'utf8'));
    jwtKeys.set(auth, key);
  }
  return key;
}

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The HKDF label of the key that authenticates refresh tokens (never the JWT key itself). */
export const REFRESH_KEY_LABEL = 'publishing-api/refresh-token/hmac-sha256/v1';

/**
 * A refresh token names its session and its generation, and carries 256 random bits and a MAC:
 * `<userId>.<sessionId>.<generation>.<random>.<mac>`. The MAC proves that the server issued
 * it, so a token of an earlier generation is certain reuse (the session is revoked) and not a
 * guess that could revoke someone else's session. Only the SHA-256 of the current token is stored.
 */
export interface ParsedRefreshToken {
  userId: string;
  sessionId: string;
  /** Undefined for a token of the old three-part form (no generation in it). */
  generation: number | undefined;
  hash: string;
}

const RANDOM_PART = /^[A-Za-z0-9_-]{43}$/;

@Injectable()
export class TokenService {
  private readonly refreshKey: KeyObject;

  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.refreshKey = derivedKey(config.auth.jwtSecret, REFRESH_KEY_LABEL);
  }

  get accessTokenTtlSeconds(): number {
    return this.config.auth.accessTokenTtlSeconds;
  }

  /**
   * An access token of the configured lifetime, or of `expiresInSeconds` (a Conduit token lives
   * as long as its session: docs/conduit.md). Every request still loads the session, so either
   * kind dies with it.
   */
  signAccessToken(
    claims: AccessTokenClaims,
    expiresInSeconds = this.config.auth.accessTokenTtlSeconds,
  ): Promise<string> {
    return this.jwt.signAsync(
      { sid: claims.sid, role: claims.role },
      {
        subject: claims.sub,
        algorithm: JWT_ALGORITHM,
        issuer: this.config.auth.jwtIssuer,
        audience: this.config.auth.jwtAudience,
        expiresIn: expiresInSeconds,
        privateKey: jwtKeyOf(this.config.auth),
      },
    );
  }

  newRefreshToken(userId: string, sessionId: string, generation: number): { token: string; hash: string } {
    const body = `${userId}.${sessionId}.${generation}.${randomBytes(32).toString('base64url')}`;
    const token = `${body}.${this.mac(body)}`;
    return { token, hash: sha256(token) };
  }

  /** The token's parts, or undefined when it is malformed or its MAC is wrong. */
  parseRefreshToken(token: string): ParsedRefreshToken | undefined {
    const parts = token.split('.');
    const [userId, sessionId] = parts as [string, string];
    if (!ID_PATTERN.test(userId ?? '') || !ID_PATTERN.test(sessionId ?? '')) return undefined;
    if (parts.length === 3) {
      // Issued before generations were added: still valid while it is the session's current one.
      return RANDOM_PART.test(parts[2]) ? { userId, sessionId, generation: undefined, hash: sha256(token) } : undefined;
    }
    if (parts.length !== 5) return undefined;
    const [, , generation, random, mac] = parts as [string, string, string, string, string];
    if (!/^(0|[1-9]\d{0,8})$/.test(generation) || !RANDOM_PART.test(random)) return undefined;
    const expected = Buffer.from(this.mac(parts.slice(0, 4).join('.')));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    return { userId, sessionId, generation: Number(generation), hash: sha256(token) };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.refreshKey).update(body).digest('base64url').slice(0, 32);
  }
}
