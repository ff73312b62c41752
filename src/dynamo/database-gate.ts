import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { Limiter, QueueFullError } from '../common/concurrency/limiter.js';
import { currentUsage } from './request-accounting.js';

export interface DatabaseGateOptions {
  /** Calls in flight to DynamoDB at once (DYNAMODB_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Calls allowed to wait for a slot; one more is `503 database_busy` (DYNAMODB_MAX_QUEUE). */
  maxQueue: number;
  /** The whole time budget (DYNAMODB_REQUEST_TIMEOUT_MS): queueing, every attempt and backoff. */
  budgetMs: number;
}

export const databaseTimeout = () =>
  serviceUnavailable(ErrorCode.DatabaseTimeout, 'The database did not answer in time; retry shortly.', 1);
export const databaseBusy = () =>
  serviceUnavailable(ErrorCode.DatabaseBusy, 'Too many requests are waiting for the database; retry shortly.', 1);

type Send = (command: unknown, options?: { abortSignal?: AbortSignal } & Record<string, unknown>) => Promise<unknown>;

/**
 * Every call to DynamoDB passes through here (installed on the one client and its document
 * client), for two guarantees:
 *
 * - One deadline. The budget covers the wait for a slot, every SDK attempt and the backoff
 *   between attempts. Inside an HTTP request it starts at the request's first database call and
 *   is renewed only by an answer from the database, so a request gets one budget of waiting for
 *   a database that does not answer, however many calls it makes (a call after a timed-out one
 *   fails at once); outside a request (start-up, scripts) each call has the whole budget. When
 *   it runs out the call is aborted and the caller gets `503 database_timeout` at that moment,
 *   not after `maxAttempts` socket timeouts.
 * - Bounded concurrency. At most `maxConcurrency` calls are in flight; the rest wait in a FIFO
 *   queue (so a burst queues here instead of timing out inside a slow engine), and only when the
 *   queue is full is a call refused with `503 database_busy`.
 */
export class DatabaseGate {
  readonly limiter: Limiter;

  constructor(readonly options: DatabaseGateOptions) {
    this.limiter = new Limiter('database', options.maxConcurrency, options.maxQueue);
  }

  /** Wraps `send` of an SDK client (the low-level one and the document client each have their own). */
  install(client: DynamoDBClient | DynamoDBDocumentClient): void {
    const original = client.send.bind(client) as Send;
    const gated = (command: unknown, options?: unknown, callback?: unknown) => {
      if (typeof options === 'function' || callback !== undefined) {
        throw new Error('DynamoDB calls use promises here, not callbacks');
      }
      return this.run((abortSignal) =>
        original(command, { ...(options as Record<string, unknown>), abortSignal: linked(abortSignal, options) }),
      );
    };
    (client as { send: unknown }).send = gated;
  }

  /** Runs one call under the deadline and the concurrency limit. */
  async run<T>(call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const usage = currentUsage();
    const now = Date.now();
    const start = usage ? (usage.budgetStart ??= now) : now;
    const remaining = start + this.options.budgetMs - now;
    if (remaining <= 0) throw databaseTimeout();

    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(databaseTimeout());
        reject(databaseTimeout());
      }, remaining);
    });
    // The caller hears of the deadline at once, even while the SDK sleeps between attempts;
    // the aborted call itself settles (and frees its slot) right after.
    expired.catch(() => undefined);
    try {
      const result = await Promise.race([this.limiter.run(() => call(controller.signal), controller.signal), expired]);
      renew(usage);
      return result;
    } catch (error) {
      if (error instanceof QueueFullError) throw databaseBusy();
      if (controller.signal.aborted) throw databaseTimeout();
      // A refusal the service sent (a failed condition, a validation error) is an answer too.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode) renew(usage);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

function renew(usage: ReturnType<typeof currentUsage>): void {
  if (usage) usage.budgetStart = Math.max(usage.budgetStart ?? 0, Date.now());
}

/** The gate's signal, combined with one the caller passed (e.g. a probe's shorter timeout). */
function linked(signal: AbortSignal, options: unknown): AbortSignal {
  const own = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
  return own ? AbortSignal.any([signal, own]) : signal;
}
