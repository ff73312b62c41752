import { loadConfig } from '../config/app-config.js';
import { PasswordHasher } from './password-hasher.js';

describe('PasswordHasher', () => {
  it('hashes with cost 12 by default outside tests, and at least 10 in production', async () => {
    const development = new PasswordHasher(loadConfig({ NODE_ENV: 'development', BCRYPT_COST: '10' }));
    expect(await development.hash('a password')).toMatch(/^\$2b\$10\$/);
    expect(loadConfig({ NODE_ENV: 'development' }).auth.bcryptCost).toBe(12);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'kq3V9x_Lm2Rt8ZpYw4Nc7Hb1Jd6Fs0Ge5Ua',
        MAIL_TRANSPORT: 'ses',
        MAIL_FROM: 'Publishing <no-reply@example.com>',
        PUBLIC_URL: 'https://app.example.com',
      }).auth.bcryptCost,
    ).toBeGreaterThanOrEqual(10);
  });

  it('verifies, and answers false with no hash after doing the same work', async () => {
    const hasher = new PasswordHasher(loadConfig({ NODE_ENV: 'test' }));
    const hash = await hasher.hash('a password');
    expect(await hasher.verify('a password', hash)).toBe(true);
    expect(await hasher.verify('another', hash)).toBe(false);
    expect(await hasher.verify('a password', undefined)).toBe(false);
  });
});

describe('PasswordHasher limiter', () => {
  it('runs at most PASSWORD_HASH_CONCURRENCY bcrypt operations at once; the rest queue', async () => {
    const hasher = new PasswordHasher(loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_CONCURRENCY: '1' }));
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, hasher.limiter.active)), 1);
    const all = Promise.all(Array.from({ length: 6 }, (_, i) => hasher.hash(`password ${i}`)));
    expect(hasher.limiter.active).toBe(1);
    expect(hasher.limiter.waiting).toBe(5);
    const hashes = await all;
    clearInterval(sample);
    expect(new Set(hashes).size).toBe(6);
    expect(peak).toBeLessThanOrEqual(1);
    expect(hasher.limiter.active + hasher.limiter.waiting).toBe(0);
  });

  it('defaults to the cores less one, at least one', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).passwordHashConcurrency).toBeGreaterThanOrEqual(1);
  });
});
