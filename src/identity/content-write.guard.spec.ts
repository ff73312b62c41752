import type { ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import type { DomainError } from '../common/errors/domain-error.js';
import type { AppConfig } from '../config/app-config.js';
import type { RateCheck, RateLimiter } from '../dynamo/rate-limiter.js';
import { ConduitAuthGuard, ConduitContentWrite } from '../conduit/conduit-auth.js';
import type { AuthUser } from './auth-user.js';
import { ContentWriteGuard } from './content-write.guard.js';

describe('ContentWriteGuard', () => {
  // The limiter is a stub: this is about whom the guard counts; rate-limits.e2e-spec.ts runs the real one.
  const rule = { name: 'content-account', max: 3, windowSeconds: 60 };
  let consumed: RateCheck[][];
  const guard = () => {
    consumed = [];
    const limiter = { consume: (checks: RateCheck[]) => (consumed.push(checks), Promise.resolve()) } as RateLimiter;
    return new ContentWriteGuard(limiter, { rateLimits: { contentPerAccount: rule } } as AppConfig);
  };
  const contextFor = (user?: Partial<AuthUser>) =>
    ({ switchToHttp: () => ({ getRequest: () => ({ user }) }) }) as unknown as ExecutionContext;

  it("counts a user's write against their account", async () => {
    await expect(guard().canActivate(contextFor({ userId: 'u1', role: 'user' }))).resolves.toBe(true);
    expect(consumed).toEqual([[{ rule, subject: 'u1' }]]);
  });

  it('lets staff through uncounted', async () => {
    await expect(guard().canActivate(contextFor({ userId: 'm1', role: 'moderator' }))).resolves.toBe(true);
    expect(consumed).toEqual([]);
  });

  it('fails closed: a request without a user is refused (401), never waved through uncounted (review 19a, H1)', async () => {
    await expect(guard().canActivate(contextFor(undefined))).rejects.toEqual(
      expect.objectContaining({ status: 401 }) as DomainError,
    );
  });

  it('runs after ConduitAuthGuard on a Conduit write, which sets the user it counts', () => {
    class Routes {
      write() {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Routes.prototype, 'write')!;
    ConduitContentWrite()(Routes.prototype, 'write', descriptor);
    expect(Reflect.getMetadata(GUARDS_METADATA, descriptor.value as object)).toEqual([
      ConduitAuthGuard,
      ContentWriteGuard,
    ]);
  });
});
