import { jest } from '@jest/globals';
import { Limiter, QueueFullError, QueueWaitAbortedError } from './limiter.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('Limiter', () => {
  it('runs at most `concurrency` tasks at once, the rest in arrival order', async () => {
    const limiter = new Limiter('test', 2, 10);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(2);
    gates[1].resolve();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.resolve());
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(limiter.active).toBe(0);
  });

  it('refuses at once when the queue is full, and keeps serving the others', async () => {
    const limiter = new Limiter('test', 1, 1);
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const queued = limiter.run(() => Promise.resolve('queued'));
    await expect(limiter.run(() => Promise.resolve('refused'))).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await first;
    expect(await queued).toBe('queued');
  });

  it('drops a waiting task whose signal aborts, and frees the slot of a failed task', async () => {
    const limiter = new Limiter('test', 1, 5);
    const gate = deferred();
    const first = limiter.run(() => gate.promise.then(() => Promise.reject(new Error('boom'))));
    const controller = new AbortController();
    const waiting = limiter.run(() => Promise.resolve('never'), controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueueWaitAbortedError);
    expect(limiter.waiting).toBe(0);
    gate.resolve();
    await expect(first).rejects.toThrow('boom');
    expect(await limiter.run(() => Promise.resolve('next'))).toBe('next');
  });

  it('tryAcquire takes a free slot at once and no more; release hands the slot to the first waiter', async () => {
    const limiter = new Limiter('test', 1, 5);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.active).toBe(1);
    expect(limiter.tryAcquire()).toBe(false);
    const queued = limiter.run(() => Promise.resolve('queued'));
    expect(limiter.waiting).toBe(1);
    limiter.release();
    expect(limiter.waiting).toBe(0);
    expect(await queued).toBe('queued');
    expect(limiter.active).toBe(0);
    expect(limiter.tryAcquire()).toBe(true);
  });

  it('bounds a wait by maxWaitMs with a timer that exists only while the task waits', async () => {
    jest.useFakeTimers();
    try {
      const limiter = new Limiter('test', 1, 10);
      const gate = deferred();
      const first = limiter.run(() => gate.promise, undefined, 100);
      expect(jest.getTimerCount()).toBe(0); // a free slot: no timer at all
      const late = limiter.run(() => Promise.resolve('never'), undefined, 100).catch((error: unknown) => error);
      const patient = limiter.run(() => Promise.resolve('patient'), undefined, 1000);
      expect(jest.getTimerCount()).toBe(2);
      jest.advanceTimersByTime(100);
      expect(await late).toBeInstanceOf(QueueWaitAbortedError);
      expect(limiter.waiting).toBe(1);
      expect(jest.getTimerCount()).toBe(1);
      gate.resolve();
      await first;
      await expect(patient).resolves.toBe('patient');
      expect(jest.getTimerCount()).toBe(0); // cleared when the slot came
      expect(limiter.active + limiter.waiting).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
