/** Raised when a limiter's queue is full: the caller should answer 503 and let the client retry. */
export class QueueFullError extends Error {
  constructor(readonly limiter: string) {
    super(`The ${limiter} queue is full`);
    this.name = 'QueueFullError';
  }
}

/** Raised when a queued task's signal aborts, or its `maxWaitMs` passes, before it got a slot. */
export class QueueWaitAbortedError extends Error {
  constructor(readonly limiter: string) {
    super(`Gave up waiting for a ${limiter} slot`);
    this.name = 'QueueWaitAbortedError';
  }
}

interface Waiter {
  start: () => void;
  abort: () => void;
}

/**
 * A counting semaphore with a bounded FIFO queue: at most `concurrency` tasks run at once,
 * up to `maxQueue` wait for a slot in arrival order, and one more is refused at once with
 * `QueueFullError` (back-pressure instead of an unbounded pile-up). A waiting task leaves the
 * queue when its signal aborts. In-process by design: it protects this process's resources
 * (CPU, sockets, the embedded engine), not a shared quota.
 */
export class Limiter {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly name: string,
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {
    if (!(concurrency >= 1)) throw new Error(`${name}: concurrency must be at least 1`);
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs `task` when a slot is free; the slot is held until the task's promise settles. With
   * `maxWaitMs`, a task still waiting after that long leaves the queue (`QueueWaitAbortedError`).
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal, maxWaitMs?: number): Promise<T> {
    await this.acquire(signal, maxWaitMs);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * Takes a free slot at once when there is one and nobody waits (FIFO kept); the caller must
   * `release` it. For hot paths that want no promise when nothing queues (the database gate).
   */
  tryAcquire(): boolean {
    if (this.running < this.concurrency && this.queue.length === 0) {
      this.running++;
      return true;
    }
    return false;
  }

  /**
   * Resolves once a slot is the caller's (who must `release` it); rejects with `QueueFullError`
   * when the queue is full, `QueueWaitAbortedError` when `signal` aborts or `maxWaitMs` passes
   * first. The wait's timer exists only while the caller is queued: a bound given as an
   * `AbortSignal.timeout` costs every call a signal and a timer that lives on after the slot
   * was taken (about 0.1 ms of CPU a sign-in, docs/performance.md, session 17).
   */
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<void> {
    if (signal?.aborted) return Promise.reject(new QueueWaitAbortedError(this.name));
    if (this.running < this.concurrency && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.name));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => waiter.abort();
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          clearTimeout(timer);
          this.running++;
          resolve();
        },
        abort: () => {
          signal?.removeEventListener('abort', onAbort);
          clearTimeout(timer);
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(new QueueWaitAbortedError(this.name));
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs !== undefined) {
        timer = setTimeout(onAbort, maxWaitMs);
        // As AbortSignal.timeout's: a wait does not keep the process alive by itself.
        timer.unref();
      }
      this.queue.push(waiter);
    });
  }

  /** Gives back a slot taken by `acquire` or `tryAcquire`: the first waiter gets it. */
  release(): void {
    this.running--;
    const next = this.queue.shift();
    if (next) next.start();
  }
}
