import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcrypt';
import { loadConfig } from '../config/app-config.js';
import { BcryptWorkers } from './bcrypt-workers.js';
import { PasswordHasher } from './password-hasher.js';

/** Every hasher a test makes, so that its worker threads stop after the test. */
const hashers: PasswordHasher[] = [];
const hasher = (env: Record<string, string>) => {
  const made = new PasswordHasher(loadConfig(env));
  hashers.push(made);
  return made;
};
afterEach(async () => {
  await Promise.all(hashers.splice(0).map((made) => made.onApplicationShutdown()));
});

describe('PasswordHasher', () => {
  it('hashes with cost 12 by default outside tests, and at least 10 in production', async () => {
    const development = hasher({ NODE_ENV: 'development', BCRYPT_COST: '10' });
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
    const passwords = hasher({ NODE_ENV: 'test' });
    const hash = await passwords.hash('a password');
    expect(await passwords.verify('a password', hash)).toBe(true);
    expect(await passwords.verify('another', hash)).toBe(false);
    expect(await passwords.verify('a password', undefined)).toBe(false);
  });
});

describe('PasswordHasher limiter', () => {
  it('runs at most PASSWORD_HASH_CONCURRENCY bcrypt operations at once; the rest queue', async () => {
    const passwords = hasher({ NODE_ENV: 'test', PASSWORD_HASH_CONCURRENCY: '1' });
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, passwords.limiter.active)), 1);
    const all = Promise.all(Array.from({ length: 6 }, (_, i) => passwords.hash(`password ${i}`)));
    expect(passwords.limiter.active).toBe(1);
    expect(passwords.limiter.waiting).toBe(5);
    const hashes = await all;
    clearInterval(sample);
    expect(new Set(hashes).size).toBe(6);
    expect(peak).toBeLessThanOrEqual(1);
    expect(passwords.limiter.active + passwords.limiter.waiting).toBe(0);
  });

  it('runs its bcrypt threads at PASSWORD_HASH_NICE (default 10; 0-19 accepted)', async () => {
    expect(loadConfig({ NODE_ENV: 'test' }).passwordHashNice).toBe(10);
    expect(() => loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_NICE: '20' })).toThrow(/PASSWORD_HASH_NICE/);
    const passwords = hasher({ NODE_ENV: 'test', PASSWORD_HASH_NICE: '15', PASSWORD_HASH_CONCURRENCY: '2' });
    await Promise.all([passwords.hash('one'), passwords.hash('two')]);
    if (process.platform === 'linux') expect(niceValues(passwords.workers.threadIds)).toEqual([15, 15]);
  });

  it('answers 503 server_busy to a check that waited PASSWORD_HASH_MAX_WAIT_MS for a slot, and runs the next one', async () => {
    expect(loadConfig({ NODE_ENV: 'test' }).passwordHashMaxWaitMs).toBe(60_000);
    const passwords = hasher({ NODE_ENV: 'test', PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_MAX_WAIT_MS: '100' });
    let free!: () => void;
    const holding = passwords.limiter.run(() => new Promise<void>((resolve) => (free = resolve)));
    const startedAt = Date.now();
    await expect(passwords.verify('a password', undefined)).rejects.toMatchObject({
      status: 503,
      code: 'server_busy',
    });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(passwords.limiter.waiting).toBe(0); // it left the queue
    free();
    await holding;
    expect(await passwords.verify('a password', await passwords.hash('a password'))).toBe(true);
  }, 10_000); // without the bound the check waits for good: fail fast

  it('makes no timeout signal per check: a timer bounds only a check that waits (session 17)', async () => {
    const timeout = jest.spyOn(AbortSignal, 'timeout');
    try {
      const passwords = hasher({ NODE_ENV: 'test', PASSWORD_HASH_CONCURRENCY: '1' });
      const hashes = await Promise.all([passwords.hash('one'), passwords.hash('two')]);
      expect(await passwords.verify('two', hashes[1])).toBe(true);
      expect(timeout).not.toHaveBeenCalled();
    } finally {
      timeout.mockRestore();
    }
  });

  it('defaults to the cores less one, at least one', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).passwordHashConcurrency).toBeGreaterThanOrEqual(1);
  });
});

/** The nice value of these threads of this process, read from the kernel (Linux). */
function niceValues(tids: number[]): number[] {
  return tids.map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name in parentheses start at field 3; nice is field 19.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}
const processNice = () => niceValues([process.pid])[0];

describe('BcryptWorkers', () => {
  it('runs bcrypt on worker threads whose nice value is PASSWORD_HASH_NICE (Linux), and the hashes are plain bcrypt', async () => {
    const before = process.platform === 'linux' ? processNice() : 0;
    const workers = new BcryptWorkers(1, 10);
    try {
      const hash = await workers.hash('a password', 4);
      expect(await bcrypt.compare('a password', hash)).toBe(true);
      expect(await workers.compare('a password', hash)).toBe(true);
      expect(await workers.compare('another', hash)).toBe(false);
      if (process.platform === 'linux') {
        expect(workers.lowered).toBe(true);
        expect(niceValues(workers.threadIds)).toEqual([10]);
        // Only the worker's thread: the main thread (the event loop) keeps its priority.
        expect(processNice()).toBe(before);
      }
    } finally {
      await workers.close();
    }
  });

  it('leaves the threads at the process priority with PASSWORD_HASH_NICE=0', async () => {
    const workers = new BcryptWorkers(2, 0);
    try {
      await Promise.all([workers.hash('one', 4), workers.hash('two', 4)]);
      expect(workers.lowered).toBe(false);
      if (process.platform === 'linux') expect(niceValues(workers.threadIds)).toEqual([processNice(), processNice()]);
    } finally {
      await workers.close();
    }
  });

  it('fails the jobs of a worker that dies and starts a new one for the next call', async () => {
    const workers = new BcryptWorkers(1, 10);
    try {
      await workers.hash('warm up', 4);
      const inFlight = workers.hash('x', 14);
      await workers['slots'][0]!.worker.terminate();
      await expect(inFlight).rejects.toThrow(/bcrypt worker exited/);
      expect(await workers.compare('warm up', await workers.hash('warm up', 4))).toBe(true);
    } finally {
      await workers.close();
    }
  });

  it('runs bcrypt in-process when a worker cannot start, without starting thread after thread', async () => {
    const workers = new BcryptWorkers(1, 10, '/nonexistent/bcrypt.node');
    try {
      const hashes = await Promise.all([workers.hash('one', 4), workers.hash('two', 4)]);
      expect(await bcrypt.compare('one', hashes[0])).toBe(true);
      expect(await workers.compare('two', hashes[1])).toBe(true);
      expect(workers.threadIds).toEqual([]);
      expect(workers['slots']).toEqual([undefined]);
    } finally {
      await workers.close();
    }
  });

  it('reports a bcrypt error as a rejected promise, not a crash', async () => {
    const workers = new BcryptWorkers(1, 10);
    try {
      await expect(workers.hash('a password', 99)).rejects.toThrow(/bcrypt:/);
      expect(await workers.compare('a', await workers.hash('a', 4))).toBe(true);
    } finally {
      await workers.close();
    }
  });
});
