import { jest } from '@jest/globals';
import { DatabaseError } from './dynamo-errors.js';
import { DatabaseGate } from './database-gate.js';
import { DynamoUsage, runWithUsage } from './request-accounting.js';

/** A call that never answers until aborted, like a request to a frozen engine. */
const frozenCall = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

describe('DatabaseGate', () => {
  it('gives up at the budget as a timeout failure (503 database_timeout over HTTP), and aborts the call', async () => {
    const gate = new DatabaseGate({ maxConcurrency: 2, maxQueue: 2, budgetMs: 200 });
    let aborted = false;
    const started = Date.now();
    await expect(
      gate.run((signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        return frozenCall(signal);
      }),
      // Sent: its outcome is unknown (it may have been written), so not `unsent`.
    ).rejects.toMatchObject({ failure: 'timeout', unsent: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(aborted).toBe(true);
  });

  it('fails as busy (503 database_busy over HTTP) at once only when the queue is full', async () => {
    const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 1, budgetMs: 300 });
    const started = Date.now();
    const settled = Promise.allSettled([gate.run(frozenCall), gate.run(frozenCall)]);
    // Refused before it was sent: it wrote nothing (`nothingWritten`).
    await expect(gate.run(frozenCall)).rejects.toMatchObject({ failure: 'busy', unsent: true });
    expect(Date.now() - started).toBeLessThan(100);
    for (const result of await settled) {
      expect(result).toMatchObject({ status: 'rejected', reason: { failure: 'timeout', unsent: false } });
    }
    expect(gate.limiter.active + gate.limiter.waiting).toBe(0);
  });

  it('lets queued calls wait beyond the budget while the database keeps answering', async () => {
    // Fake timers (Date.now too): on a loaded machine real ones fired late and failed the last call.
    jest.useFakeTimers();
    try {
      const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 10, budgetMs: 200 });
      const slow = (i: number) => gate.run(() => new Promise((resolve) => setTimeout(() => resolve(i), 100)));
      const started = Date.now();
      const all = Promise.all([0, 1, 2, 3, 4].map(slow));
      await jest.advanceTimersByTimeAsync(500);
      // The last call waited 400 ms in the queue, twice the budget, and still ran.
      expect(await all).toEqual([0, 1, 2, 3, 4]);
      expect(Date.now() - started).toBe(500);
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails a queued call after a budget without any answer from the database', async () => {
    const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 10, budgetMs: 200 });
    // A call that ignores the abort holds its slot until it settles, after the deadline.
    const busy = gate.run(() => new Promise((resolve) => setTimeout(resolve, 400)));
    let ran = false;
    // The queued call was never sent; the one in flight was.
    await expect(gate.run(() => Promise.resolve((ran = true)))).rejects.toMatchObject({
      failure: 'timeout',
      unsent: true,
    });
    await expect(busy).rejects.toMatchObject({ failure: 'timeout', unsent: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toBe(false);
    expect(gate.limiter.active + gate.limiter.waiting).toBe(0);
  });

  it('inside a request, a call after a timed-out one fails at once', async () => {
    const gate = new DatabaseGate({ maxConcurrency: 4, maxQueue: 4, budgetMs: 150 });
    const usage = new DynamoUsage();
    jest.useFakeTimers();
    try {
      await runWithUsage(usage, async () => {
        const frozen = expect(gate.run(frozenCall)).rejects.toBeInstanceOf(DatabaseError);
        await jest.advanceTimersByTimeAsync(150);
        await frozen;
        // At once: the fake clock does not move while it fails.
        const started = Date.now();
        await expect(gate.run(() => Promise.resolve('late'))).rejects.toMatchObject({
          failure: 'timeout',
          unsent: true,
        });
        expect(Date.now()).toBe(started);
      });
      // Another request's calls, each well within the budget, all answer.
      const progressing = new DynamoUsage();
      await runWithUsage(progressing, async () => {
        for (let i = 0; i < 4; i++) {
          const answer = gate.run(() => new Promise((resolve) => setTimeout(() => resolve(i), 60)));
          await jest.advanceTimersByTimeAsync(60);
          expect(await answer).toBe(i);
        }
      });
    } finally {
      jest.useRealTimers();
    }
  });

  it('passes other errors through and frees the slot', async () => {
    const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 0, budgetMs: 1000 });
    await expect(gate.run(() => Promise.reject(new Error('ConditionalCheckFailed')))).rejects.toThrow(
      'ConditionalCheckFailed',
    );
    expect(await gate.run(() => Promise.resolve('next'))).toBe('next');
  });

  it('the caller hears of the deadline at once, even from a call that ignores its abort; the slot stays held until it settles', async () => {
    jest.useFakeTimers();
    try {
      const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 1, budgetMs: 100 });
      let heard: unknown;
      const stubborn = gate
        .run(() => new Promise((resolve) => setTimeout(resolve, 500)))
        .catch((error: unknown) => (heard = error));
      await jest.advanceTimersByTimeAsync(100);
      expect(heard).toMatchObject({ failure: 'timeout' });
      expect(gate.limiter.active).toBe(1);
      await jest.advanceTimersByTimeAsync(400);
      await stubborn;
      expect(gate.limiter.active).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
