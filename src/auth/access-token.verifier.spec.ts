import type { JwtService } from '@nestjs/jwt';
import { refusalOf } from '../common/errors/refusal.testing.js';
import type { AppConfig } from '../config/app-config.js';
import type { User } from '../identity/account.js';
import { accountFixture } from '../identity/account.testing.js';
import type { SessionsRepository } from '../identity/sessions/sessions.repository.js';
import { AccessTokenVerifier } from './access-token.verifier.js';

const USER_ID = 'u'.repeat(21);
const SESSION_ID = 's'.repeat(21);

/** A verifier whose signature check passes and whose consistent read returns `user` (review 18d L3). */
function verifierFor(user: User) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = { verifyAsync: () => Promise.resolve({ sub: USER_ID, sid: SESSION_ID, iat: now, exp: now + 600 }) };
  const sessions = { findWithUser: () => Promise.resolve({ session: { id: SESSION_ID }, user }) };
  const config = { auth: { jwtSecret: 'test-secret', jwtIssuer: 'i', jwtAudience: 'a' } } as unknown as AppConfig;
  return new AccessTokenVerifier(jwt as unknown as JwtService, sessions as unknown as SessionsRepository, config);
}

describe('AccessTokenVerifier: an account whose erasure is pending (review 17a L1, 18d M1, L3)', () => {
  const erasing = accountFixture(USER_ID, {
    status: 'suspended',
    erasureRequestedAt: '2026-05-15T11:00:00.000Z',
    erasureSignIn: true,
  });

  it('lets its tokens through only on a route marked for the retry, and only with both the marker and the sign-in flag', async () => {
    const markedOnly = { ...erasing, erasureSignIn: undefined };
    const suspended = { ...erasing, erasureRequestedAt: undefined, erasureSignIn: undefined };
    const retry = { erasureRetry: true };
    expect(await refusalOf(() => verifierFor(erasing).verify('t', retry))).toBe('allowed');
    expect(await refusalOf(() => verifierFor(erasing).verify('t'))).toBe('403 account_suspended');
    // Suspended by an admin before the erase marked it (M1), or plainly suspended: shut everywhere.
    expect(await refusalOf(() => verifierFor(markedOnly).verify('t', retry))).toBe('403 account_suspended');
    expect(await refusalOf(() => verifierFor(suspended).verify('t', retry))).toBe('403 account_suspended');
    // Deactivated, marked or not: its sessions ended.
    const inactive = { ...erasing, status: 'inactive' as const };
    expect(await refusalOf(() => verifierFor(inactive).verify('t', retry))).toBe('401 session_revoked');
    const active = accountFixture(USER_ID);
    expect(await refusalOf(() => verifierFor(active).verify('t'))).toBe('allowed');
  });
});
