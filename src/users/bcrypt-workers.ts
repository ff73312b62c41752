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
let lowered = false;
if (workerData.nice > 0) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
    lowered = true;
  } catch {
    // Not Linux (no /proc/thread-self): the thread keeps the process's priority.
  }
}
parentPort.postMessage({ ready: true, lowered });
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
  pending: Map<number, Pending>;
}

/**
 * A fixed set of worker threads that run bcrypt at a lowered CPU priority (`PASSWORD_HASH_NICE`),
 * so that a burst of sign-ins only takes CPU that nothing else wants: probes, cached reads and
 * the event loop keep their latency. Jobs go to the worker with the fewest in flight (the
 * caller's limiter keeps that at one each). Workers start on first use, keep the process alive
 * only while they have jobs, and a worker that dies fails its jobs and is replaced on the next call.
 */
export class BcryptWorkers {
  private readonly slots: (Slot | undefined)[];
  private nextId = 1;
  private readonly bcryptPath = createRequire(import.meta.url).resolve('bcrypt');
  /** Whether the last started worker could lower its priority (false off Linux). */
  lowered: boolean | undefined;

  constructor(
    size: number,
    private readonly nice: number,
  ) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  hash(password: string, cost: number): Promise<string> {
    return this.run({ op: 'hash', password, cost }) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  /** Stops every worker; pending jobs fail. Called when the application shuts down. */
  async close(): Promise<void> {
    const running = this.slots.filter((slot): slot is Slot => slot !== undefined);
    this.slots.fill(undefined);
    await Promise.all(running.map((slot) => slot.worker.terminate()));
  }

  private run(job: Job): Promise<string | boolean> {
    const slot = this.leastBusy();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A worker with jobs in flight keeps the process alive; an idle one does not.
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
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
    const slot: Slot = { worker, pending: new Map() };
    const failAll = (error: Error) => {
      if (this.slots[index] === slot) this.slots[index] = undefined;
      for (const pending of slot.pending.values()) pending.reject(error);
      slot.pending.clear();
    };
    worker.on(
      'message',
      (message: { ready?: true; lowered?: boolean; id?: number; result?: string | boolean; error?: string }) => {
        if (message.ready) {
          this.lowered = message.lowered;
          return;
        }
        const pending = slot.pending.get(message.id!);
        if (!pending) return;
        slot.pending.delete(message.id!);
        if (slot.pending.size === 0) slot.worker.unref();
        if (message.error !== undefined) pending.reject(new Error(`bcrypt: ${message.error}`));
        else pending.resolve(message.result!);
      },
    );
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`bcrypt worker exited with code ${code}`)));
    // Idle until the first job (after the listeners: adding one refs the worker's port again).
    worker.unref();
    this.slots[index] = slot;
    return slot;
  }
}
