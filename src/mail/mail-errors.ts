/**
 * What a failed send means for its retry (review 19b M2):
 * - `transient`: the mail server or the network is away or busy (a refused or cut connection, a
 *   timeout, an SMTP 4xx other than a recipient's refusal, SES throttling or a 5xx of its API): a
 *   retry later will likely send it.
 * - `permanent`: the server refused this mail for good (an SMTP 5xx such as 550 for a closed
 *   mailbox, SES `MessageRejected`): no retry or replay would send it.
 * - `deferred`: an SMTP 4xx that defers this one recipient (at `RCPT TO`): retried like a transient
 *   failure, but for `STREAM_WORKER_DEFERRAL_MAX_SECONDS` at most (15 minutes by default), then the
 *   record is dead-lettered for the operator (and replayable).
 * - `unknown`: anything else (bad credentials, an unverified sender, a bug): retried a few times,
 *   then the record is dead-lettered for the operator (and replayable).
 *
 * A 4xx at `RCPT TO` is about this one address, not the server: greylisting (`450 4.2.0`, for a few
 * minutes), a full mailbox (`452`), a per-recipient rate (`451`), or a domain whose DNS fails
 * (`450 4.1.2`, which its owner controls). Were it transient for as long as a server's outage, one
 * account could hold its shard for `STREAM_WORKER_TRANSIENT_MAX_SECONDS` at a time, and every later
 * record of the shard would wait behind it (review 20a M1); counted as `unknown`, a few seconds of
 * greylisting lost the security notice to the dead-letter list (review 20b M2). Only `421` (the
 * server closing the connection, whatever the command) stays transient there.
 */
export type MailFailure = 'transient' | 'deferred' | 'permanent' | 'unknown';

/** Network errors (Node's and nodemailer's codes): the server was not reached or did not answer. */
const UNREACHABLE = new Set([
  'ECONNECTION',
  'ECONNREFUSED',
  'ECONNRESET',
  'EDNS',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'ESOCKET',
  'ETIMEDOUT',
]);
/** SES (API v2) and the AWS SDK: throttled, or the call timed out. */
const SES_TRANSIENT = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'ThrottlingException',
  'TimeoutError',
  'RequestTimeout',
]);
/** SES refused the message itself (content or recipient), not the sender's setup. */
const SES_PERMANENT = new Set(['MessageRejected']);

export function classifyMailError(error: unknown): MailFailure {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const { name, code, command, responseCode, $metadata, $fault } = error as {
    name?: unknown;
    code?: unknown;
    command?: unknown;
    responseCode?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $fault?: unknown;
  };
  // Refused credentials are the sender's setup, whatever the reply code says (535).
  if (code === 'EAUTH') return 'unknown';
  if (typeof responseCode === 'number') {
    if (command === 'RCPT TO' && responseCode >= 400 && responseCode < 500 && responseCode !== 421) return 'deferred';
    if (responseCode >= 400 && responseCode < 500) return 'transient';
    if (responseCode >= 500 && responseCode < 600) return 'permanent';
  }
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'transient';
  if (typeof name === 'string' && SES_TRANSIENT.has(name)) return 'transient';
  if (typeof name === 'string' && SES_PERMANENT.has(name)) return 'permanent';
  const status = $metadata?.httpStatusCode;
  if ($fault === 'server' || (typeof status === 'number' && status >= 500)) return 'transient';
  return 'unknown';
}

/**
 * A mail the stream processor could not send and retries: thrown, it fails the stream record. It
 * is `transient` when every failure behind it was (`classifyMailError`'s `transient` or `deferred`,
 * a throttled database): the stream worker then retries it with the shard's backoff without counting
 * it towards `STREAM_WORKER_MAX_ATTEMPTS`, up to `STREAM_WORKER_TRANSIENT_MAX_SECONDS` (it reads
 * `transient`: src/common/errors/transient.ts). A relay deferring the recipient at `RCPT TO` is a
 * `deferral` too: retried as transient, but for `STREAM_WORKER_DEFERRAL_MAX_SECONDS` at most
 * (reviews 20a M1 and 20b M2). Anything else counts towards the dead letter.
 */
export class MailNotSent extends Error {
  override readonly name: string = 'MailNotSent';

  constructor(
    message: string,
    readonly transient: boolean,
    readonly deferral = false,
  ) {
    super(message);
  }

  /** The error that retries a mail whose send failed with `failure` (anything but `permanent`). */
  static after(failure: MailFailure, message: string): MailNotSent {
    return new MailNotSent(message, failure === 'transient' || failure === 'deferred', failure === 'deferred');
  }
}
