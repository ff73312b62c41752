// Tokens and the current user. The JWT key is a KeyObject: with a string secret, jsonwebtoken tries
// and fails `createPublicKey` on every sign and verify (~0.4 ms each on the bench machine), which
// the app under test no longer pays either; the comparison should not credit us with that.
import { createSecretKey } from 'node:crypto';
import { createParamDecorator, Injectable, UnauthorizedException } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import { decorateClass } from './decorate.mjs';
import { User } from './entities.mjs';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? 'peer-secret-0123456789abcdef0123456789', 'utf8'));

export function signToken(user) {
  return jwt.sign({ id: user.id, username: user.username, email: user.email }, key, {
    algorithm: 'HS256',
    expiresIn: '60d',
  });
}

/** `Authorization: Token <jwt>` (or Bearer): verifies it and loads the user; no header, no user. */
export class AuthMiddleware {
  constructor(dataSource) {
    this.users = dataSource.getRepository(User);
  }

  async use(req, _res, next) {
    const header = req.headers.authorization;
    if (header) {
      const [scheme, token] = header.split(' ');
      if (!token || (scheme !== 'Token' && scheme !== 'Bearer')) throw new UnauthorizedException();
      let payload;
      try {
        payload = jwt.verify(token, key, { algorithms: ['HS256'] });
      } catch {
        throw new UnauthorizedException();
      }
      const user = await this.users.findOneBy({ id: payload.id });
      if (!user) throw new UnauthorizedException();
      req.user = user;
    }
    next();
  }
}
decorateClass(AuthMiddleware, [Injectable()], [DataSource]);

/** Routes that need a signed-in user. */
export class SignedIn {
  canActivate(context) {
    if (!context.switchToHttp().getRequest().user) throw new UnauthorizedException();
    return true;
  }
}
decorateClass(SignedIn, [Injectable()]);

export const CurrentUser = createParamDecorator((_data, context) => context.switchToHttp().getRequest().user);
