import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type DomainError } from '../common/errors/domain-error.js';
import type { UserRole } from '../users/user.entity.js';
import { REQUIRED_ROLES } from './auth.decorators.js';
import { RolesGuard } from './guards.js';

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
