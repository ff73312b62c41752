import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Limiter, QueueFullError, QueueWaitAbortedError } from '../common/concurrency/limiter.js';
import { databaseBusy, databaseTimeout } from './dynamo-errors.js';
import { currentUsage, type DynamoUsage } from './request-accounting.js';

export interface DatabaseGateOptions {
  /** Calls in flight to DynamoDB at once (DYNAMODB_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Calls allowed to wait for a slot; one more is `503 database_busy` (DYNAMODB_MAX_QUEUE). */
  maxQueue: number;
  /** The whole time budget (DYNAMODB_REQUEST_TIMEOUT_MS): queueing, every attempt and backoff. */
  budgetMs: number;
}

type Send = (command: unknown, options?: { abortSignal?: AbortSignal } & Record<string, unknown>) => Promise<unknown>;

/**
 * Every call to DynamoDB passes through here (installed on the one client and its document
 * client), for two guarantees:
 *
 * - Bounded concurrency. At most `maxConcurrency` calls are in flight; the rest wait in a FIFO
 *   queue, so a burst queues here instead of piling into a slow engine where every call would
 *   time out, and only when the queue is full is a call refused with `503 database_busy`.
 * - One deadline: `budgetMs` is the longest the app waits for the database without an answer.
 *   A call in flight gets `budgetMs` for everything, every SDK attempt and the backoff between
 *   them; when it runs out the call is aborted and the caller gets `503 database_timeout` at
 *   that moment, not after `maxAttempts` socket timeouts. A queued call waits while the database
 *   keeps answering (other calls complete), and fails once it has heard nothing for `budgetMs`:
 *   a slow engine drains a burst, a frozen one fails everything within one budget. Inside an
 *   HTTP request, a call after a timed-out one fails at once, so a request that makes several
 *   calls still waits one budget.
 */
export class DatabaseGate {
  readonly limiter: Limiter;
  /** When the database last answered anything (epoch ms). */
  private lastAnswerAt = 0;

  constructor(readonly options: DatabaseGateOptions) {
    this.limiter = new Limiter('database', options.maxConcurrency, options.maxQueue);
  }

  /**
   * Wraps `send` of an SDK client (the low-level one and the document client each have their own).
   * The lean transport's document client calls `run` itself.
   */
  install(client: DynamoDBClient | DynamoDBDocumentClient): void {
    const original = client.send.bind(client) as Send;
    const gated = (command: unknown, options?: unknown, callback?: unknown) => {
      if (typeof options === 'function' || callback !== undefined) {
        throw new Error('DynamoDB calls use promises here, not callbacks');
      }
      return this.run((abortSignal) =>
        original(command, {
          ...(options as Record<string, unknown>),
          abortSignal: withCallerSignal(abortSignal, options),
        }),
      );
    };
    (client as { send: unknown }).send = gated;
  }

  /** Runs one call under the concurrency limit and the deadline. */
  run<T>(call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const usage = currentUsage();
    if (usage?.databaseTimedOut) return Promise.reject(databaseTimeout({ unsent: true }));
    // A free slot, the usual case: no queue watch, no timer nor promise for a wait.
    if (this.limiter.tryAcquire()) return this.fly(call, usage);
    return this.queued(call, usage);
  }

  /** Waits for a slot: gives up after `budget` without any answer from the database. */
  private async queued<T>(call: (abortSignal: AbortSignal) => Promise<T>, usage: DynamoUsage | undefined): Promise<T> {
    const budget = this.options.budgetMs;
    const queued = new AbortController();
    const enqueuedAt = performance.now();
    let queueTimer: NodeJS.Timeout | undefined;
    const watch = () => {
      const left = Math.max(enqueuedAt, this.lastAnswerAt) + budget - performance.now();
      if (left <= 0) queued.abort();
      else queueTimer = setTimeout(watch, left);
    };
    queueTimer = setTimeout(watch, budget);
    try {
      await this.limiter.acquire(queued.signal);
    } catch (error) {
      if (error instanceof QueueFullError) throw databaseBusy();
      if (error instanceof QueueWaitAbortedError) {
        if (usage) usage.databaseTimedOut = true;
        throw databaseTimeout({ unsent: true });
      }
      throw error;
    } finally {
      clearTimeout(queueTimer);
    }
    return this.fly(call, usage);
  }

  /**
   * One call that holds a slot (released when the call settles): `budget` for all its attempts.
   * At the deadline the call is aborted and the caller hears of it at once, even while the call
   * sleeps between attempts; the aborted call settles (and frees its slot) right after. One
   * timer and one settlement instead of a race of promises: this runs on every DynamoDB call.
   */
  private fly<T>(call: (abortSignal: AbortSignal) => Promise<T>, usage: DynamoUsage | undefined): Promise<T> {
    const inFlight = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        inFlight.abort(databaseTimeout());
        if (usage) usage.databaseTimedOut = true;
        reject(databaseTimeout());
      }, this.options.budgetMs);
      const settle = () => {
        clearTimeout(timer);
        this.limiter.release();
      };
      let pending: Promise<T>;
      try {
        pending = call(inFlight.signal);
      } catch (error) {
        settle();
        // The call's own failure, passed through as it is (as the async version rethrew it).
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return reject(error);
      }
      pending.then(
        (result) => {
          settle();
          this.lastAnswerAt = performance.now();
          resolve(result);
        },
        (error: Error) => {
          settle();
          // A refusal the service sent (a failed condition, a validation error) is an answer too.
          if ((error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode) {
            this.lastAnswerAt = performance.now();
          }
          if (inFlight.signal.aborted) {
            if (usage) usage.databaseTimedOut = true;
            reject(databaseTimeout());
          } else reject(error);
        },
      );
    });
  }
}

/** The gate's signal, combined with one the caller passed (e.g. a probe's shorter timeout). */
export function withCallerSignal(signal: AbortSignal, options: unknown): AbortSignal {
  const own = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
  return own ? AbortSignal.any([signal, own]) : signal;
}
