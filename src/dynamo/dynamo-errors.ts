import { DomainError, serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

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
 * Maps infrastructure failures of the SDK to domain errors with stable codes, so that a
 * throttled, frozen or absent database answers 503 with a clear code instead of a bare 500.
 * Returns undefined for errors that are not infrastructure failures (bugs stay 500s).
 */
export function translateDynamoError(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  const sdk = asSdkError(error);
  const name = sdk.name ?? '';
  if (THROTTLING.has(name)) {
    return serviceUnavailable(ErrorCode.DatabaseThrottled, 'The database is busy; retry shortly.', 1);
  }
  if (TIMEOUTS.has(name) || sdk.code === 'ETIMEDOUT' || /timed? ?out/i.test(sdk.message ?? '')) {
    return serviceUnavailable(ErrorCode.DatabaseTimeout, 'The database did not answer in time; retry shortly.', 1);
  }
  if (connectionCode(sdk)) {
    return serviceUnavailable(ErrorCode.DatabaseUnavailable, 'The database cannot be reached.', 5);
  }
  // Only tables and indexes are "resources" of the data-plane calls: the table is missing
  // (deleted, or never created where start-up does not create it).
  if (name === 'ResourceNotFoundException') {
    return serviceUnavailable(ErrorCode.DatabaseUnavailable, 'The database table is not available.', 5);
  }
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') {
    return serviceUnavailable(ErrorCode.TransactionConflict, 'A concurrent change got in the way; retry.', 1);
  }
  if (isTransactionCanceled(error) && cancellationReasons(error).some((r) => r.code === 'TransactionConflict')) {
    return serviceUnavailable(ErrorCode.TransactionConflict, 'A concurrent change got in the way; retry.', 1);
  }
  if (isTransactionCanceled(error) && cancellationReasons(error).some((r) => r.code === 'ThrottlingError')) {
    return serviceUnavailable(ErrorCode.DatabaseThrottled, 'The database is busy; retry shortly.', 1);
  }
  return undefined;
}
