import type { UserWithPassword } from './account.js';

/** For unit specs (not built into dist/): the active, verified account `id` with its password hash. */
export const accountFixture = (id: string, overrides: Partial<UserWithPassword> = {}): UserWithPassword => ({
  id,
  email: `${id}@example.com`,
  username: id,
  role: 'user',
  status: 'active',
  emailVerified: true,
  loginCount: 0,
  createdAt: '2026-05-01T08:00:00.000Z',
  updatedAt: '2026-05-01T08:00:00.000Z',
  version: 3,
  passwordHash: `hash of ${id}'s password`,
  ...overrides,
});
