import { ApiProperty } from '@nestjs/swagger';
import { ERROR_CODES, type ErrorCode } from '../errors/error-codes.js';

/** One invalid field of a request. */
export class FieldErrorDto {
  /** Dotted path of the field, e.g. `password` or `socialLinks.0.url`. */
  field!: string;
  /** What is wrong with it. */
  messages!: string[];
}

/** An RFC 9457 problem details body (`application/problem+json`). */
export class ProblemDto {
  /** A URI naming the kind of problem. */
  type!: string;
  /** Short summary of the kind of problem. */
  title!: string;
  /** The HTTP status code. */
  status!: number;
  /** Explanation of this occurrence. */
  detail!: string;
  /** The request path. */
  instance!: string;
  /** Stable machine-readable code; branch on this, not on `detail`. */
  @ApiProperty({ enum: ERROR_CODES, enumName: 'ErrorCode' })
  code!: ErrorCode;
  /** The request's id, as in the `X-Request-Id` response header and the server's log: quote it in support requests. */
  requestId!: string;
  /** Per-field validation errors (for `validation_failed`). */
  errors?: FieldErrorDto[];
  /** Ids in the request that name nothing (for 422 answers). */
  invalidIds?: string[];
  /**
   * A category deletion that failed after some of the category's published posts had moved: the
   * category they moved to (`moveTo`), where they stay. The detail says how many.
   */
  movedPostsTo?: string;
}
