/**
 * Why the database could not serve a call. These are infrastructure failures, not rules of the
 * domain: `dynamo/` knows nothing of HTTP, and the one exception filter (`src/http/`) maps each
 * to its status and stable code (all 503 today, with `Retry-After`).
 */
export type DatabaseFailure = 'throttled' | 'timeout' | 'unavailable' | 'conflict' | 'busy';

/**
 * A database call that failed for infrastructure reasons; `retryAfterSeconds` is a hint for clients.
 * `unsent`: the call never left the app (the gate refused or gave up on it before sending it), so
 * it wrote nothing; otherwise its outcome is unknown (`nothingWritten` in ./transactions.ts).
 */
export class DatabaseError extends Error {
  constructor(
    readonly failure: DatabaseFailure,
    message: string,
    readonly retryAfterSeconds: number,
    readonly unsent = false,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

const failure = (kind: DatabaseFailure, message: string, retryAfterSeconds: number, unsent = false) =>
  new DatabaseError(kind, message, retryAfterSeconds, unsent);
const throttled = () => failure('throttled', 'The database is busy; retry shortly.', 1);
const conflict = () => failure('conflict', 'A concurrent change got in the way; retry.', 1);
/** `unsent`: the deadline passed before the call was sent (see `DatabaseError`). */
export const databaseTimeout = ({ unsent = false } = {}) =>
  failure('timeout', 'The database did not answer in time; retry shortly.', 1, unsent);
/** The gate's queue is full: the call is refused before it is sent. */
export const databaseBusy = () =>
  failure('busy', 'Too many requests are waiting for the database; retry shortly.', 1, true);

/** One entry of a cancelled transaction, aligned with the items sent. */
export interface CancellationReason {
  index: number;
  /** `None`, `ConditionalCheckFailed`, `TransactionConflict`, `ValidationError`, ... */
  code: string;
  message?: string;
}

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  errno?: string;
  cause?: unknown;
  CancellationReasons?: { Code?: string; Message?: string }[];
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const asSdkError = (error: unknown): SdkLikeError => (typeof error === 'object' && error !== null ? error : {});

export const isConditionalCheckFailed = (error: unknown): boolean =>
  asSdkError(error).name === 'ConditionalCheckFailedException';

export const isTransactionCanceled = (error: unknown): boolean =>
  asSdkError(error).name === 'TransactionCanceledException';

/** The per-item reasons of a TransactionCanceledException, in request order. */
export function cancellationReasons(error: unknown): CancellationReason[] {
  const reasons = asSdkError(error).CancellationReasons ?? [];
  return reasons.map((reason, index) => ({ index, code: reason.Code ?? 'None', message: reason.Message }));
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

function connectionCode(error: SdkLikeError): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const candidate = asSdkError(current);
    const code = candidate.code ?? candidate.errno;
    if (code && CONNECTION.has(code)) return code;
    // The SDK may wrap a network error into a message-only Error (e.g. across VM realms).
    const named = [...CONNECTION].find((name) => candidate.message?.includes(name));
    if (named) return named;
    current = candidate.cause;
  }
  return undefined;
}

/**
 * Recognises infrastructure failures of the SDK (throttled, frozen or absent database, a
 * transaction conflict that outlived its retries) as `DatabaseError`s, so that they answer 503
 * with a clear code instead of a bare 500. A `DatabaseError` passes through. Returns undefined
 * for anything else (conditions, validation, bugs: the caller decides).
 */
export function translateDynamoError(error: unknown): DatabaseError | undefined {
  if (error instanceof DatabaseError) return error;
  const sdk = asSdkError(error);
  const name = sdk.name ?? '';
  if (THROTTLING.has(name)) return throttled();
  if (TIMEOUTS.has(name) || sdk.code === 'ETIMEDOUT' || /timed? ?out/i.test(sdk.message ?? '')) {
    return databaseTimeout();
  }
  if (connectionCode(sdk)) return failure('unavailable', 'The database cannot be reached.', 5);
  // The lean transport's answers that are not DynamoDB's (a proxy's page, a cut or huge body).
  if (name === 'InvalidResponseException' || name === 'ResponseTooLargeException') {
    return failure('unavailable', 'The database cannot be reached.', 5);
  }
  // Only tables and indexes are "resources" of the data-plane calls: the table is missing
  // (deleted, or never created where start-up does not create it).
  if (name === 'ResourceNotFoundException') return failure('unavailable', 'The database table is not available.', 5);
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') return conflict();
  if (isTransactionCanceled(error) && cancellationReasons(error).some((r) => r.code === 'TransactionConflict')) {
    return conflict();
  }
  if (isTransactionCanceled(error) && cancellationReasons(error).some((r) => r.code === 'ThrottlingError')) {
    return throttled();
  }
  return undefined;
}
