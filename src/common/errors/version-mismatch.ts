import { preconditionFailed } from './domain-error.js';
import { ErrorCode } from './error-codes.js';

/**
 * The one version-mismatch error (412 `version_mismatch`): a write made on condition of a version
 * that another write changed meanwhile, or an `If-Match` that names an older version.
 * `subject` names what changed ("post", "tag"); the default is "resource".
 */
export const versionMismatch = (subject = 'resource') =>
  preconditionFailed(ErrorCode.VersionMismatch, `The ${subject} changed since you read it; fetch it again.`);

/**
 * Refuses a write whose If-Match version is not the current one (412); the version to write at.
 * Here, not beside the ETag helpers in `http/`, so that services and their unit specs do not load
 * the Swagger decorators.
 */
export function assertVersion(expected: number | undefined, current: number): number {
  if (expected !== undefined && expected !== current) throw versionMismatch();
  return current;
}
