/**
 * An error that says it is transient: a retry is expected to outlive it (an outage of a service
 * other than DynamoDB, such as the mail server; review 19b M2). The stream worker retries such a
 * record with the shard's backoff without counting it towards `STREAM_WORKER_MAX_ATTEMPTS`, as it
 * does a throttled or unreachable database, but for `STREAM_WORKER_TRANSIENT_MAX_SECONDS` at most.
 */
export interface TransientError {
  readonly transient: true;
}

export const isMarkedTransient = (error: unknown): error is TransientError =>
  typeof error === 'object' && error !== null && (error as { transient?: unknown }).transient === true;

/**
 * A transient error that is one recipient's deferral (an SMTP 4xx at `RCPT TO`): retried as a
 * transient one, but for `STREAM_WORKER_DEFERRAL_MAX_SECONDS` at most (review 20b M2).
 */
export interface DeferralError extends TransientError {
  readonly deferral: true;
}

export const isDeferral = (error: unknown): error is DeferralError =>
  isMarkedTransient(error) && (error as { deferral?: unknown }).deferral === true;
