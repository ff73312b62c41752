/**
 * What a failed send means for its retry (review 19b M2):
 * - `transient`: the mail server or the network is away or busy (a refused or cut connection, a
 *   timeout, an SMTP 4xx, SES throttling or a 5xx of its API): a retry later will likely send it.
 * - `permanent`: the server refused this mail for good (an SMTP 5xx such as 550 for a closed
 *   mailbox, SES `MessageRejected`): no retry or replay would send it.
 * - `unknown`: anything else (bad credentials, an unverified sender, a bug): retried a few times,
 *   then the record is dead-lettered for the operator.
 */
export type MailFailure = 'transient' | 'permanent' | 'unknown';

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
  const { name, code, responseCode, $metadata, $fault } = error as {
    name?: unknown;
    code?: unknown;
    responseCode?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $fault?: unknown;
  };
  // Refused credentials are the sender's setup, whatever the reply code says (535).
  if (code === 'EAUTH') return 'unknown';
  if (typeof responseCode === 'number') {
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
