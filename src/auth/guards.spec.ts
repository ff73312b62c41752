import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../common/errors/domain-error.js';
import type { UserRole } from '../identity/account.js';
import { AUTH_MODE, ERASURE_RETRY, REQUIRED_ROLES } from '../identity/auth.decorators.js';
import type { AuthUser } from '../identity/auth-user.js';
import type { AccessTokenVerifier } from './access-token.verifier.js';
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
  // The verifier is a stub: these tests are about what the guard decides before it, what it hands
  // it and what it does with its answer; the e2e suites run the real one on DynamoDB Local.
  const user = { userId: 'u1' } as unknown as AuthUser;
  let verified: string[];
  let verifyOptions: unknown[];
  const guardFor = (outcome: () => Promise<AuthUser> = () => Promise.resolve(user)) => {
    verified = [];
    verifyOptions = [];
    const verifier = {
      verify: (token: string, options?: unknown) => {
        verified.push(token);
        verifyOptions.push(options);
        return outcome();
      },
    } as AccessTokenVerifier;
    return new JwtAuthGuard(new Reflector(), verifier);
  };
  const contextWith = (
    mode: 'public' | 'optional' | undefined,
    authorization?: string,
    req: { headers?: Record<string, string>; user?: unknown } = {},
  ): ExecutionContext => {
    const handler = () => undefined;
    if (mode) Reflect.defineMetadata(AUTH_MODE, mode, handler);
    req.headers = authorization === undefined ? {} : { authorization };
    return {
      getHandler: () => handler,
      getClass: () => class {},
      switchToHttp: () => ({ getRequest: () => req }),
    } as unknown as ExecutionContext;
  };
  const refusal = (code: string) => expect.objectContaining({ status: 401, code }) as DomainError;

  it('lets @Public() routes through without reading a token, even a malformed one', async () => {
    const guard = guardFor();
    await expect(guard.canActivate(contextWith('public', 'garbage'))).resolves.toBe(true);
    await expect(guard.canActivate(contextWith('public', 'Bearer abc.def.ghi'))).resolves.toBe(true);
    expect(verified).toEqual([]);
  });

  it('lets @OptionalAuth() routes through without a token', async () => {
    const guard = guardFor();
    const req = {};
    await expect(guard.canActivate(contextWith('optional', undefined, req))).resolves.toBe(true);
    expect(verified).toEqual([]);
    expect(req).not.toHaveProperty('user');
  });

  it('refuses a route without a token with 401 missing_token', async () => {
    await expect(guardFor().canActivate(contextWith(undefined))).rejects.toThrow(refusal('missing_token'));
    expect(verified).toEqual([]);
  });

  it.each([
    'Basic abc',
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'xBearer abc',
    'Bearerabc',
    'Token abc',
    // Unicode spaces are no separator (review 17a L4): only SP and HTAB are.
    'Bearer\u00a0abc',
    'Bearer\u2028abc',
    'Bearer\u3000abc',
    'Bearer\nabc',
  ])('refuses the header %j with 401 invalid_token, also where a token is optional', async (header) => {
    await expect(guardFor().canActivate(contextWith(undefined, header))).rejects.toThrow(refusal('invalid_token'));
    await expect(guardFor().canActivate(contextWith('optional', header))).rejects.toThrow(refusal('invalid_token'));
    expect(verified).toEqual([]);
  });

  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['Bearer   abc', 'abc'],
    ['BEARER\tabc', 'abc'],
  ])('hands the token of %j to the verifier once and sets req.user to its answer', async (header, token) => {
    for (const mode of [undefined, 'optional'] as const) {
      const guard = guardFor();
      const req: { user?: unknown } = {};
      await expect(guard.canActivate(contextWith(mode, header, req))).resolves.toBe(true);
      expect(verified).toEqual([token]);
      expect(req.user).toBe(user);
    }
  });

  it('tells the verifier the route is the erase retry only on a route marked @ErasureRetry() (review 17a L1)', async () => {
    const guard = guardFor();
    const marked = contextWith(undefined, 'Bearer abc');
    Reflect.defineMetadata(ERASURE_RETRY, true, marked.getHandler());
    await guard.canActivate(marked);
    await guard.canActivate(contextWith(undefined, 'Bearer abc'));
    expect(verifyOptions).toEqual([{ erasureRetry: true }, undefined]);
  });

  it("lets the verifier's refusal through as it is (token_expired, session_revoked, account_suspended)", async () => {
    for (const error of [
      new DomainError(401, 'token_expired', 'expired'),
      new DomainError(401, 'session_revoked', 'revoked'),
      new DomainError(403, 'account_suspended', 'suspended'),
    ]) {
      const req: { user?: unknown } = {};
      await expect(
        guardFor(() => Promise.reject(error)).canActivate(contextWith(undefined, 'Bearer abc', req)),
      ).rejects.toBe(error);
      expect(req).not.toHaveProperty('user');
    }
  });
});
