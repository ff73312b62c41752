import { isDeferral, isMarkedTransient } from '../common/errors/transient.js';
import type { StreamWorkerConfig } from '../config/app-config.js';
import { translateDynamoError } from '../dynamo/dynamo-errors.js';

/**
 * Throttling, timeouts, an unreachable database, transaction conflicts, and an error that says it
 * is transient (a mail server away or busy, review 19b M2): what a retry outlives. Such a failure
 * does not count towards `STREAM_WORKER_MAX_ATTEMPTS` on either host.
 */
export function isTransientFailure(error: unknown): boolean {
  return translateDynamoError(error) !== undefined || isMarkedTransient(error);
}

/**
 * How long a record may keep failing, transiently or not, before its host gives up on it (dead
 * letter): `STREAM_WORKER_TRANSIENT_MAX_SECONDS`, or `STREAM_WORKER_DEFERRAL_MAX_SECONDS` when that
 * is shorter and the failure is one recipient's deferral (review 20b M2), in milliseconds.
 */
export function failingCapMs(error: unknown, config: StreamWorkerConfig): number {
  const { transientMaxSeconds, deferralMaxSeconds } = config;
  return (isDeferral(error) ? Math.min(deferralMaxSeconds, transientMaxSeconds) : transientMaxSeconds) * 1000;
}
