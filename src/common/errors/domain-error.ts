import { ErrorCode } from './error-codes.js';

/**
 * A failure the API reports to its client. Services and repositories throw these; the one
 * exception filter (`ProblemDetailsFilter`) renders them as RFC 9457 problem+json. `code` is
 * stable and machine-readable: clients branch on it, never on `detail`.
 */
export interface FieldError {
  /** Dotted path of the offending field (`profile.website`), or `body` for the whole body. */
  field: string;
  messages: string[];
}

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    detail: string,
    readonly extras: { errors?: FieldError[]; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}

export const badRequest = (code: ErrorCode, detail: string, errors?: FieldError[]) =>
  new DomainError(400, code, detail, errors ? { errors } : {});
export const unauthorized = (code: ErrorCode, detail: string) => new DomainError(401, code, detail);
export const forbidden = (code: ErrorCode, detail: string) => new DomainError(403, code, detail);
export const notFound = (code: ErrorCode, detail: string) => new DomainError(404, code, detail);
export const conflict = (code: ErrorCode, detail: string) => new DomainError(409, code, detail);
export const preconditionFailed = (code: ErrorCode, detail: string) => new DomainError(412, code, detail);
export const unprocessable = (code: ErrorCode, detail: string, extras: Record<string, unknown> = {}) =>
  new DomainError(422, code, detail, extras);
export const tooManyRequests = (code: ErrorCode, detail: string, retryAfterSeconds: number) =>
  new DomainError(429, code, detail, { retryAfterSeconds });
export const serviceUnavailable = (code: ErrorCode, detail: string, retryAfterSeconds?: number) =>
  new DomainError(503, code, detail, retryAfterSeconds ? { retryAfterSeconds } : {});

/** A personal-data export whose post and comment contents pass `EXPORT_MAX_CONTENT_CHARS`. */
export const exportContentTooLarge = (max: number): DomainError =>
  unprocessable(
    ErrorCode.ExportTooLarge,
    `The account's posts and comments hold more than ${max} characters of content, more than one export returns (EXPORT_MAX_CONTENT_CHARS): ask an operator for this export.`,
  );

/**
 * A personal-data export section holds more than EXPORT_MAX_ITEMS: the request stops reading
 * there (422), so one export is a bounded read.
 */
export const exportTooLarge = (section: string, max: number): DomainError =>
  unprocessable(
    ErrorCode.ExportTooLarge,
    `The account holds more than ${max} ${section}, more than one export returns (EXPORT_MAX_ITEMS): ask an operator for this export.`,
  );
