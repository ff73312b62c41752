import { Logger } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The code each worker thread runs. bcrypt's synchronous calls keep the work on the worker's own
 * thread, whose scheduling priority the worker lowers (Linux: the nice value is per thread, and
 * `/proc/thread-self` names the thread's id). libuv's shared pool threads cannot be told apart
 * from one another, so bcrypt's async API could only run at the process's priority.
 * Inline source rather than a file beside this one: it loads the same way from `dist/` and from
 * the TypeScript sources under Jest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');
const bcrypt = require(workerData.bcryptPath);
let tid;
let lowered = false;
try {
  tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (workerData.nice > 0) {
    setPriority(tid, workerData.nice);
    lowered = true;
  }
} catch {
  // Not Linux (no /proc/thread-self): the thread keeps the process's priority.
}
parentPort.postMessage({ ready: true, lowered, tid });
parentPort.on('message', ({ id, op, password, cost, hash }) => {
  try {
    const result = op === 'hash' ? bcrypt.hashSync(password, cost) : bcrypt.compareSync(password, hash);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

interface Pending {
  resolve: (value: string | boolean) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending & { job: Job }>;
  /** The thread's id in the operating system (Linux), once the worker has started. */
  tid?: number;
  ready: boolean;
}

interface WorkerMessage {
  ready?: true;
  lowered?: boolean;
  tid?: number;
  id?: number;
  result?: string | boolean;
  error?: string;
}

/**
 * A fixed set of worker threads that run bcrypt at a lowered CPU priority (`PASSWORD_HASH_NICE`),
 * so that a burst of sign-ins only takes CPU that nothing else wants: probes, cached reads and
 * the event loop keep their latency. Jobs go to the worker with the fewest in flight (the
 * caller's limiter keeps that at one each). Workers start on first use, keep the process alive
 * only while they have jobs, and a worker that dies fails its jobs and is replaced on the next call.
 * A worker that cannot start at all (bcrypt fails to load in a thread) is not retried in a loop:
 * its jobs and all later ones run on bcrypt's async API, at the process's priority.
 */
export class BcryptWorkers {
  private readonly logger = new Logger(BcryptWorkers.name);
  private readonly slots: (Slot | undefined)[];
  private nextId = 1;
  /** Set by `close()`: workers that exit then are not failures. */
  private closed = false;
  /** Set when a worker could not start: from then on bcrypt runs on libuv's pool. */
  private unavailable = false;
  /** Whether the last started worker could lower its priority (false off Linux). */
  lowered: boolean | undefined;

  /**
   * @param size worker threads (the caller's limiter runs at most this many jobs at once)
   * @param nice the threads' nice value, 0-19 (0: the process's priority)
   * @param bcryptPath the module the threads load (a spec points it elsewhere to see a failed start)
   */
  constructor(
    size: number,
    private readonly nice: number,
    private readonly bcryptPath = createRequire(import.meta.url).resolve('bcrypt'),
  ) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  hash(password: string, cost: number): Promise<string> {
    return this.run({ op: 'hash', password, cost }) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  /** The operating-system thread ids of the started workers (Linux; empty elsewhere). */
  get threadIds(): number[] {
    return this.slots.flatMap((slot) => (slot?.tid === undefined ? [] : [slot.tid]));
  }

  /** Stops every worker; pending jobs fail. Called when the application shuts down. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.slots.filter((slot): slot is Slot => slot !== undefined);
    this.slots.fill(undefined);
    await Promise.all(running.map((slot) => slot.worker.terminate()));
  }

  private run(job: Job): Promise<string | boolean> {
    if (this.unavailable || this.closed) return inProcess(job);
    const slot = this.leastBusy();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A worker with jobs in flight keeps the process alive; an idle one does not.
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject, job });
      slot.worker.postMessage({ id, ...job });
    });
  }

  private leastBusy(): Slot {
    let chosen = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot) return this.start(i);
      if (slot.pending.size < this.slots[chosen]!.pending.size) chosen = i;
    }
    return this.slots[chosen]!;
  }

  private start(index: number): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcryptPath: this.bcryptPath, nice: this.nice },
    });
    const slot: Slot = { worker, pending: new Map(), ready: false };
    const failAll = (error: Error) => {
      if (this.slots[index] === slot) this.slots[index] = undefined;
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      if (!slot.ready && !this.closed && !this.unavailable) {
        this.unavailable = true;
        this.logger.error(
          `A bcrypt worker thread could not start (${error.message}); bcrypt runs in-process from now on.`,
        );
      }
      for (const { job, resolve, reject } of pending) {
        if (slot.ready || this.closed) reject(error);
        else inProcess(job).then(resolve, reject);
      }
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.ready) {
        slot.ready = true;
        slot.tid = message.tid;
        this.lowered = message.lowered;
        return;
      }
      const pending = slot.pending.get(message.id!);
      if (!pending) return;
      slot.pending.delete(message.id!);
      if (slot.pending.size === 0) slot.worker.unref();
      if (message.error !== undefined) pending.reject(new Error(`bcrypt: ${message.error}`));
      else pending.resolve(message.result!);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`bcrypt worker exited with code ${code}`)));
    // Idle until the first job (after the listeners: adding one refs the worker's port again).
    worker.unref();
    this.slots[index] = slot;
    return slot;
  }
}

/** bcrypt's async API on libuv's pool: the fallback when worker threads cannot start. */
function inProcess(job: Job): Promise<string | boolean> {
  return job.op === 'hash' ? bcrypt.hash(job.password, job.cost) : bcrypt.compare(job.password, job.hash);
}
