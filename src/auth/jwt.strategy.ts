import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { ExtractJwt, Strategy, type VerifiedCallback } from 'passport-jwt';
import type { AccessTokenVerifier } from './access-token.verifier.js';
import type { AuthUser } from '../identity/auth-user.js';
import { JWT_ALGORITHM } from './tokens/token.service.js';

/** Name of the strategy in Passport's registry (`AuthGuard('jwt')`). */
export const JWT_STRATEGY = 'jwt';

/** Key under the Express app's `locals` where each app instance keeps its own token checking. */
const AUTH_CONTEXT = Symbol.for('publishing-api.auth');

/** What one app instance checks tokens with. */
export interface AppAuthContext {
  /** The HS256 key as a KeyObject (`jwtKeyOf`): no failed `createPublicKey` per verify. */
  key: KeyObject;
  verifier: AccessTokenVerifier;
}

/** Gives an Express app (one Nest app instance) its token checking; `AuthModule` calls it at start-up. */
export function bindAuthContext(expressApp: { locals: object }, context: AppAuthContext): void {
  (expressApp.locals as Record<symbol, AppAuthContext>)[AUTH_CONTEXT] = context;
}

/** The token checking of the app that received the request. */
export function authContextOf(req: Request): AppAuthContext {
  const context = (req.app?.locals as Record<symbol, AppAuthContext | undefined> | undefined)?.[AUTH_CONTEXT];
  if (!context) throw new Error('No auth context on this app: AuthModule did not bind one');
  return context;
}

/**
 * The passport-jwt strategy, stateless on purpose. Passport keeps strategies in one
 * process-wide registry, so every app instance in the process that registers `jwt` replaces the
 * previous one's; a strategy holding an app's secret or repositories would then check one app's
 * tokens against another's. This one holds nothing: the secret and the verifier come from the
 * app the request belongs to (`req.app.locals`), so whichever instance is registered, each
 * request is checked by its own app.
 *
 * passport-jwt extracts the bearer token and checks the signature (HS256 only) and the expiry;
 * then `AccessTokenVerifier` — the one place that checks the claims, issuer and audience and
 * loads session and user in one consistent BatchGetItem — decides.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (req: Request, _raw: string, done: (error: Error | null, key?: string | Buffer) => void) => {
        try {
          // passport-jwt passes the key on to jsonwebtoken, which takes a KeyObject; only
          // passport-jwt's types say string | Buffer.
          done(null, authContextOf(req).key as unknown as Buffer);
        } catch (error) {
          done(error as Error);
        }
      },
      algorithms: [JWT_ALGORITHM],
      ignoreExpiration: false,
      passReqToCallback: true,
    });
  }

  /** Called by passport-jwt once the signature and expiry are good: the verifier does the rest. */
  async validate(req: Request, _payload: unknown, _done?: VerifiedCallback): Promise<AuthUser> {
    const token = ExtractJwt.fromAuthHeaderAsBearerToken()(req)!;
    return authContextOf(req).verifier.verify(token);
  }
}
