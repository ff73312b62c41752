import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from '../dto/problem.dto.js';

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
  503: 'The database is unavailable; retry later.',
};

/** Documents error responses as `application/problem+json` bodies of `ProblemDto`. */
export function ApiProblemResponses(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
}
