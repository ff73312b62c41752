import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../common/errors/domain-error.js';
import type { UserRole } from '../identity/account.js';
import { AUTH_MODE, REQUIRED_ROLES } from '../identity/auth.decorators.js';
import { JwtAuthGuard, RolesGuard } from './guards.js';

const contextFor = (roles: UserRole[] | undefined, user?: { role: UserRole }): ExecutionContext => {
  const handler = () => undefined;
  if (roles) Reflect.defineMetadata(REQUIRED_ROLES, roles, handler);
  return {
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
};

describe('RolesGuard', () => {
  const guard = new RolesGuard(new Reflector());

  it('lets any authenticated caller through a route without @Roles', () => {
    expect(guard.canActivate(contextFor(undefined, { role: 'user' }))).toBe(true);
  });

  it('lets a listed role through', () => {
    expect(guard.canActivate(contextFor(['moderator', 'admin'], { role: 'admin' }))).toBe(true);
  });

  it('refuses other roles with 403 insufficient_role', () => {
    expect(() => guard.canActivate(contextFor(['admin'], { role: 'moderator' }))).toThrow(
      expect.objectContaining({ status: 403, code: 'insufficient_role' }) as DomainError,
    );
  });

  it('refuses a caller without a user with 401', () => {
    expect(() => guard.canActivate(contextFor(['admin']))).toThrow(
      expect.objectContaining({ status: 401 }) as DomainError,
    );
  });
});

describe('JwtAuthGuard', () => {
  // Passport's own check (`super.canActivate`) is stubbed: these tests are about what the guard
  // decides before it and how it words Passport's outcome, which clients branch on by `code`.
  let passportCalls: number;
  const guardFor = () => {
    const guard = new JwtAuthGuard(new Reflector());
    passportCalls = 0;
    Object.defineProperty(Object.getPrototypeOf(JwtAuthGuard.prototype), 'canActivate', {
      configurable: true,
      value: () => {
        passportCalls++;
        return Promise.resolve(true);
      },
    });
    return guard;
  };
  const contextWith = (mode: 'public' | 'optional' | undefined, authorization?: string): ExecutionContext => {
    const handler = () => undefined;
    if (mode) Reflect.defineMetadata(AUTH_MODE, mode, handler);
    return {
      getHandler: () => handler,
      getClass: () => class {},
      switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }),
    } as unknown as ExecutionContext;
  };
  const refusal = (code: string) => expect.objectContaining({ status: 401, code }) as DomainError;

  it('lets @Public() routes through without reading a token, even a malformed one', async () => {
    const guard = guardFor();
    await expect(guard.canActivate(contextWith('public', 'garbage'))).resolves.toBe(true);
    expect(passportCalls).toBe(0);
  });

  it('lets @OptionalAuth() routes through without a token', async () => {
    const guard = guardFor();
    await expect(guard.canActivate(contextWith('optional'))).resolves.toBe(true);
    expect(passportCalls).toBe(0);
  });

  it('refuses a route without a token with 401 missing_token', async () => {
    await expect(guardFor().canActivate(contextWith(undefined))).rejects.toThrow(refusal('missing_token'));
  });

  it.each(['Basic abc', 'Bearer', 'Bearer ', 'Bearer a b', 'xBearer abc', 'Bearerabc'])(
    'refuses the header %j with 401 invalid_token, also where a token is optional',
    async (header) => {
      await expect(guardFor().canActivate(contextWith(undefined, header))).rejects.toThrow(refusal('invalid_token'));
      await expect(guardFor().canActivate(contextWith('optional', header))).rejects.toThrow(refusal('invalid_token'));
      expect(passportCalls).toBe(0);
    },
  );

  it.each(['Bearer abc.def.ghi', 'bearer abc', 'Bearer   abc'])('hands %j to Passport', async (header) => {
    const guard = guardFor();
    await expect(guard.canActivate(contextWith(undefined, header))).resolves.toBe(true);
    expect(passportCalls).toBe(1);
  });

  it("words Passport's outcome: the user, the verifier's error, an expired or an invalid token", () => {
    const guard = new JwtAuthGuard(new Reflector());
    const user = { id: 'u1' };
    expect(guard.handleRequest(null, user, undefined)).toBe(user);
    const revoked = new DomainError(401, 'session_revoked', 'revoked');
    expect(() => guard.handleRequest(revoked, false, undefined)).toThrow(revoked);
    expect(() => guard.handleRequest('not an error', false, undefined)).toThrow('Authentication failed');
    const expired = Object.assign(new Error('jwt expired'), { name: 'TokenExpiredError' });
    expect(() => guard.handleRequest(null, false, expired)).toThrow(refusal('token_expired'));
    expect(() => guard.handleRequest(null, false, new Error('invalid signature'))).toThrow(refusal('invalid_token'));
    expect(() => guard.handleRequest(null, false, { name: 'TokenExpiredError' })).toThrow(refusal('invalid_token'));
    expect(() => guard.handleRequest(null, false, undefined)).toThrow(refusal('invalid_token'));
  });
});
