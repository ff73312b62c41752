import { loadConfig } from '../config/app-config.js';
import { PasswordHasher } from './password-hasher.js';

describe('PasswordHasher', () => {
  it('hashes with cost 12 by default outside tests, and at least 10 in production', async () => {
    const development = new PasswordHasher(loadConfig({ NODE_ENV: 'development', BCRYPT_COST: '10' }));
    expect(await development.hash('a password')).toMatch(/^\$2b\$10\$/);
    expect(loadConfig({ NODE_ENV: 'development' }).auth.bcryptCost).toBe(12);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).auth.bcryptCost).toBeGreaterThanOrEqual(
      10,
    );
  });

  it('verifies, and answers false with no hash after doing the same work', async () => {
    const hasher = new PasswordHasher(loadConfig({ NODE_ENV: 'test' }));
    const hash = await hasher.hash('a password');
    expect(await hasher.verify('a password', hash)).toBe(true);
    expect(await hasher.verify('another', hash)).toBe(false);
    expect(await hasher.verify('a password', undefined)).toBe(false);
  });
});
