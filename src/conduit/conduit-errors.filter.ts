import {
  type ArgumentsHost,
  applyDecorators,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { ErrorCode } from '../common/errors/error-codes.js';
import { codeForHttpException, domainErrorOf } from '../http/problem-details.filter.js';
import { scrubUrl } from '../logging/logger.js';
import { ConduitErrorsDto } from './dto/conduit.dto.js';

/**
 * The RealWorld error body, `{"errors": {"<field or body>": ["message"]}}`, with the native API's
 * stable `code` beside it (RealWorld has none; clients that do not know it ignore it).
 */
export interface ConduitErrorBody {
  errors: Record<string, string[]>;
  code: ErrorCode;
}

/** Codes that RealWorld clients expect as a 422 on the field they name (a taken email or username). */
const TAKEN: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.EmailTaken]: 'email',
  [ErrorCode.UsernameTaken]: 'username',
  [ErrorCode.SlugTaken]: 'title',
};

/**
 * The status and RealWorld body of an error raised under `/api`. Validation failures become
 * `422` keyed by field (the request wrapper, `user.`/`article.`/`comment.`, is dropped); taken
 * emails and usernames become `422` on that field; every other status is kept, with its message
 * under `body` (the spec's GenericErrorModel). Each carries the code the native API would answer
 * with (`validation_failed`, `username_taken`, `post_not_found`, ...).
 */
export function toConduitError(exception: unknown): { status: number; body: ConduitErrorBody; retryAfter?: number } {
  const domain = domainErrorOf(exception);
  if (domain) {
    if (domain.code === ErrorCode.ValidationFailed) {
      const errors: Record<string, string[]> = {};
      for (const field of domain.extras.errors ?? [{ field: 'body', messages: [domain.message] }]) {
        const name = field.field.includes('.') ? field.field.slice(field.field.indexOf('.') + 1) : field.field;
        (errors[name] ??= []).push(...field.messages);
      }
      return { status: 422, body: { errors, code: domain.code } };
    }
    const takenField = TAKEN[domain.code];
    if (takenField) {
      return { status: 422, body: { errors: { [takenField]: ['has already been taken'] }, code: domain.code } };
    }
    return {
      status: domain.status,
      body: { errors: { body: [domain.message] }, code: domain.code },
      retryAfter: domain.extras.retryAfterSeconds,
    };
  }
  if (exception instanceof HttpException) {
    return {
      status: exception.getStatus(),
      body: { errors: { body: [exception.message] }, code: codeForHttpException(exception) },
    };
  }
  return { status: 500, body: { errors: { body: ['An unexpected error occurred.'] }, code: ErrorCode.InternalError } };
}

const logger = new Logger('Conduit');

/** Sends an error raised under `/api` as `toConduitError` renders it (a 5xx is logged with its stack). */
export function sendConduitError(exception: unknown, request: Request, response: Response): void {
  const { status, body, retryAfter } = toConduitError(exception);
  if (status >= 500) {
    logger.error(
      `${request.method} ${scrubUrl(request.originalUrl)} -> ${status}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
  }
  if (response.headersSent) return;
  if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
  response.status(status).json(body);
}

/** Renders every error of the Conduit controllers in the RealWorld format (never problem+json). */
@Catch()
export class ConduitErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendConduitError(exception, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/**
 * Whether a path is Conduit's: under `/api/` but not under the native prefix (`nativePrefix`,
 * `/api/v1`). Case-insensitive, as Express routes.
 */
export function isConduitPath(path: string, nativePrefix: string): boolean {
  const lower = path.toLowerCase();
  const native = nativePrefix.toLowerCase();
  return lower.startsWith('/api/') && lower !== native && !lower.startsWith(`${native}/`);
}

/**
 * The error middleware in front of the app's problem+json one, for what fails before any route
 * (the body steps: malformed JSON 400, too large 413, not JSON 415, too deep 400): on a Conduit
 * path it answers the RealWorld envelope with the same status and `code`, as the Conduit
 * controllers' filter would; elsewhere it passes the error on (review 22a note "Conduit body
 * errors": body-parser failed before the Conduit filter ran, so those answered problem+json).
 */
export function conduitBodyErrors(nativePrefix: string): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (isConduitPath(req.path, nativePrefix)) sendConduitError(error, req, res);
    else next(error);
  };
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'The body is not valid JSON.',
  401: 'Missing, invalid or expired token, or an ended session.',
  403: 'The caller may not do this (not the author; a suspended account).',
  404: 'No such user, article or comment.',
  422: 'Validation failed, or the request cannot be applied; the errors name the fields.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  429: 'Too many requests; see Retry-After.',
  503: 'The database is unavailable or busy; retry after Retry-After seconds.',
};

/** Documents RealWorld error responses (`{errors}`) of a Conduit route. */
export const ConduitErrors = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error.', type: ConduitErrorsDto }),
    ),
  );

/**
 * A RealWorld error response as the OpenAPI document lists it, for the errors that the body steps
 * give before any route (400, 413, 415: the document adds them to every operation with a body).
 */
export const conduitErrorResponse = (status: number) => ({
  description: DESCRIPTIONS[status] ?? 'Error.',
  content: { 'application/json': { schema: { $ref: getSchemaPath(ConduitErrorsDto) } } },
});
