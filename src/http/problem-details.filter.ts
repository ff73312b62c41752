import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { DomainError, serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode, isErrorCode, problemTypeOf } from '../common/errors/error-codes.js';
import { type DatabaseFailure, translateDynamoError } from '../dynamo/dynamo-errors.js';
import type { ProblemDto } from '../common/dto/problem.dto.js';
import { scrubUrl } from '../logging/logger.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The catalogue's `http_<status>` code of a status that no rule names; a status outside the
 * catalogue (a custom HttpException) falls back to the generic code of its class.
 */
function fallbackCode(status: number): ErrorCode {
  const code = `http_${status}`;
  if (isErrorCode(code)) return code;
  return status >= 500 ? ErrorCode.InternalError : ErrorCode.BadRequest;
}

/** Codes for errors raised by Nest or Express themselves rather than by our services. */
export function codeForHttpException(exception: HttpException): ErrorCode {
  const status = exception.getStatus();
  const body = exception.getResponse() as { message?: unknown } | string;
  const message = typeof body === 'string' ? body : typeof body.message === 'string' ? body.message : '';
  if (status === 404 && /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)/.test(message))
    return ErrorCode.RouteNotFound;
  if (status === 413) return ErrorCode.PayloadTooLarge;
  if (status === 415) return ErrorCode.UnsupportedMediaType;
  if (status === 400 && /JSON/i.test(message)) return ErrorCode.MalformedJson;
  return fallbackCode(status);
}

const logger = new Logger('ProblemDetails');

/** The stable code of each infrastructure failure `dynamo/` raises: all are 503 with `Retry-After`. */
const DATABASE_FAILURE_CODES: Record<DatabaseFailure, ErrorCode> = {
  throttled: ErrorCode.DatabaseThrottled,
  timeout: ErrorCode.DatabaseTimeout,
  unavailable: ErrorCode.DatabaseUnavailable,
  conflict: ErrorCode.TransactionConflict,
  busy: ErrorCode.DatabaseBusy,
};

/**
 * The domain error a thrown value stands for: its own, the 503 of a database failure, or the 4xx
 * of a body the body parser refused (`bodyErrorOf`).
 */
export function domainErrorOf(exception: unknown): DomainError | undefined {
  if (exception instanceof DomainError) return exception;
  const database = translateDynamoError(exception);
  if (database)
    return serviceUnavailable(DATABASE_FAILURE_CODES[database.failure], database.message, database.retryAfterSeconds);
  return bodyErrorOf(exception);
}

/**
 * The 4xx of an error thrown by Express middleware (body-parser), which carries an HTTP status and
 * a `type`: malformed JSON 400 `malformed_json`, too large 413 `payload_too_large`, an encoding or
 * charset it cannot read 415 `unsupported_media_type`, any other 4xx `bad_request`. One mapping
 * for both renderings: problem+json, and the Conduit envelope on `/api/...` (src/conduit).
 */
export function bodyErrorOf(exception: unknown): DomainError | undefined {
  if (exception instanceof HttpException) return undefined;
  const expressError = (exception ?? {}) as { status?: number; statusCode?: number; type?: string };
  const status = expressError.status ?? expressError.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (expressError.type) {
    case 'entity.parse.failed':
      return new DomainError(400, ErrorCode.MalformedJson, 'The body is not valid JSON.');
    case 'entity.too.large':
      return new DomainError(413, ErrorCode.PayloadTooLarge, 'The body is larger than the server accepts.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new DomainError(415, ErrorCode.UnsupportedMediaType, 'The body encoding or charset is not supported.');
    default:
      return new DomainError(status, ErrorCode.BadRequest, 'The request could not be read.');
  }
}

/**
 * Renders any error as RFC 9457 `application/problem+json` with a stable `code`. Domain
 * errors carry their own; SDK infrastructure failures are translated; Express/body-parser
 * errors get request-shape codes; anything else is a 500 whose details go to the log only.
 */
export function sendProblem(exception: unknown, request: Request, response: Response): void {
  const domain = domainErrorOf(exception);
  // The instance echoes the path and query, with secrets (a mailed link's token) redacted as in the
  // logs: error bodies end up in client-side error trackers.
  const problem = toProblem(
    exception,
    domain,
    scrubUrl(request.originalUrl ?? request.url),
    requestIdOf(request, response),
  );
  if (problem.status >= 500 && domain) {
    // An expected operational failure (database down, throttled): one line, no stack.
    logger.warn(`${request.method} ${scrubUrl(request.originalUrl)} -> ${problem.status} ${problem.code}`);
  } else if (problem.status >= 500) {
    logger.error(
      `${request.method} ${scrubUrl(request.originalUrl)} -> ${problem.status} ${problem.code}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
  }
  if (response.headersSent) return;
  if (problem.status === 401 && !response.hasHeader('WWW-Authenticate')) {
    response.setHeader('WWW-Authenticate', wwwAuthenticateOf(problem.code));
  }
  const retryAfter = domain?.extras.retryAfterSeconds;
  if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
  response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** 401 codes of an access token that was sent and refused (RFC 6750 3.1's `invalid_token`). */
const REFUSED_TOKEN: ReadonlySet<string> = new Set([
  ErrorCode.InvalidToken,
  ErrorCode.TokenExpired,
  ErrorCode.SessionRevoked,
]);

/**
 * The challenge every 401 carries (RFC 9110 11.6.1; review 22a note): `Bearer`, with
 * `error="invalid_token"` when the access token sent was refused (RFC 6750 3.1). Clients still
 * branch on the problem's `code`; this is for HTTP tooling that reads the header.
 */
function wwwAuthenticateOf(code: string): string {
  return REFUSED_TOKEN.has(code) ? `Bearer realm="api", error="invalid_token"` : 'Bearer realm="api"';
}

/** The id the access-log middleware gave the request (also in its `X-Request-Id` response header). */
function requestIdOf(request: Request, response: Response): string {
  const id = (request as Request & { id?: unknown }).id ?? response.getHeader('x-request-id');
  return typeof id === 'string' ? id : '';
}

function toProblem(
  exception: unknown,
  domain: DomainError | undefined,
  instance: string,
  requestId: string,
): ProblemDto {
  const make = (status: number, code: ErrorCode, detail: string, extras: Partial<ProblemDto> = {}): ProblemDto => ({
    type: problemTypeOf(code),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance,
    code,
    requestId,
    ...extras,
  });

  if (domain) {
    const { errors, retryAfterSeconds: _retry, ...rest } = domain.extras;
    return make(domain.status, domain.code, domain.message, { ...(errors ? { errors } : {}), ...rest });
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    return make(status, codeForHttpException(exception), typeof message === 'string' ? message : exception.message);
  }
  return make(500, ErrorCode.InternalError, 'An unexpected error occurred.');
}

/** The one exception filter of the app: everything leaves through `sendProblem`. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(exception, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/** The same rendering for errors raised by Express middleware before Nest's pipeline. */
export function problemErrorMiddleware(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  sendProblem(error, req, res);
}

/**
 * The last handler of the app, after every route: Nest answers unknown paths under its global
 * prefix only, so `/`, `/api` or `/foo` fell through to Express's HTML page.
 */
export function routeNotFound(req: Request, res: Response): void {
  sendProblem(new DomainError(404, ErrorCode.RouteNotFound, `Cannot ${req.method} ${req.path}`), req, res);
}
