import { preconditionFailed } from './domain-error.js';
import { ErrorCode } from './error-codes.js';

/**
 * The one version-mismatch error (412 `version_mismatch`): a write made on condition of a version
 * that another write changed meanwhile, or an `If-Match` that names an older version.
 * `subject` names what changed ("post", "tag"); the default is "resource".
 */
export const versionMismatch = (subject = 'resource') =>
  preconditionFailed(ErrorCode.VersionMismatch, `The ${subject} changed since you read it; fetch it again.`);
