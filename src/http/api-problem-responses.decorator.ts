import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from '../common/dto/problem.dto.js';
import { ErrorCode, problemTypeOf } from '../common/errors/error-codes.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation.',
  401: 'Missing, invalid or expired access token.',
  403: 'The caller may not do this.',
  404: 'Not found.',
  409: 'Conflicts with the current state (a taken email, slug, ...).',
  412: 'The If-Match version is stale.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  422: 'The request refers to something that does not exist or cannot be used.',
  429: 'Too many requests; see Retry-After.',
  503: 'The database is unavailable or busy; retry after Retry-After seconds.',
};

/** A typical answer of each status, shown as the example in the docs. */
const EXAMPLES: Record<number, { code: ErrorCode; title: string; detail: string }> = {
  400: { code: ErrorCode.ValidationFailed, title: 'Bad Request', detail: 'Invalid request: email' },
  401: { code: ErrorCode.TokenExpired, title: 'Unauthorized', detail: 'The access token has expired.' },
  403: { code: ErrorCode.InsufficientRole, title: 'Forbidden', detail: 'Your role does not allow this.' },
  404: { code: ErrorCode.PostNotFound, title: 'Not Found', detail: 'No such post.' },
  409: { code: ErrorCode.SlugTaken, title: 'Conflict', detail: 'The slug is taken.' },
  412: {
    code: ErrorCode.VersionMismatch,
    title: 'Precondition Failed',
    detail: 'The resource changed since you read it; fetch it again.',
  },
  413: {
    code: ErrorCode.PayloadTooLarge,
    title: 'Content Too Large',
    detail: 'The body is larger than the server accepts.',
  },
  415: {
    code: ErrorCode.UnsupportedMediaType,
    title: 'Unsupported Media Type',
    detail: 'Send the body as application/json.',
  },
  422: {
    code: ErrorCode.CategoryNotFound,
    title: 'Unprocessable Content',
    detail: 'The category does not exist.',
  },
  429: { code: ErrorCode.TooManyRequests, title: 'Too Many Requests', detail: 'Too many requests; try again later.' },
  503: {
    code: ErrorCode.DatabaseUnavailable,
    title: 'Service Unavailable',
    detail: 'The database is not available; retry later.',
  },
};

function exampleOf(status: number): ProblemDto | undefined {
  const example = EXAMPLES[status];
  if (!example) return undefined;
  return {
    type: problemTypeOf(example.code),
    title: example.title,
    status,
    detail: example.detail,
    instance: '/api/v1/posts/V1StGXR8_Z5jdHi6B-myT',
    code: example.code,
    requestId: '6f1c2a9e-3b7d-4c55-9d0e-2f8a1b4c7d90',
    ...(status === 400 ? { errors: [{ field: 'email', messages: ['email must be an email'] }] } : {}),
  };
}

/** The OpenAPI response object of an error status: a problem+json body of `ProblemDto`. */
export function problemResponse(status: number) {
  const example = exampleOf(status);
  return {
    description: DESCRIPTIONS[status] ?? 'Error',
    content: {
      'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) }, ...(example ? { example } : {}) },
    },
  };
}

/** Documents error responses as `application/problem+json` bodies of `ProblemDto`. */
export function ApiProblemResponses(...statuses: number[]) {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, ...problemResponse(status) })));
}
