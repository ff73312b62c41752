import { ApiHeader } from '@nestjs/swagger';
import { badRequest } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

/** The ETag of a versioned resource: its version, quoted (a strong validator). */
export const etagOf = (version: number): string => `"${version}"`;

/** The ETag of a read that combines several versioned items (a user with its profile): a cache validator only. */
export const compositeEtagOf = (...versions: number[]): string => `"${versions.join('.')}"`;

/**
 * The version an `If-Match` header asks for: undefined without the header (or `*`), the
 * number for `"7"` or `W/"7"`. A header that names no version is a 400; several are refused.
 */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,12})"\s*$/.exec(header);
  if (!match) throw badRequest(ErrorCode.InvalidIfMatch, 'If-Match must be one ETag of this resource, e.g. "3".');
  return Number(match[1]);
}

/** Documents the optional `If-Match` request header of a versioned write. */
export const ApiIfMatch = () =>
  ApiHeader({ name: 'If-Match', required: false, description: 'The ETag you read; a stale one is refused with 412.' });
