import type { components } from './generated/schema.js';

export type Problem = components['schemas']['ProblemDto'];
export type ErrorCode = components['schemas']['ErrorCode'];

/**
 * Every refusal of the API, as one error class: `status` and the stable `code` to branch on
 * (`err instanceof ProblemError && err.code === 'version_mismatch'`), and the whole problem+json
 * body. A response that is not problem+json (a proxy's HTML page) keeps `code` undefined.
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly code: ErrorCode | undefined;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, fallback = `HTTP ${status}`) {
    super(problem?.detail ?? fallback);
    this.name = 'ProblemError';
    this.status = status;
    this.code = problem?.code;
    this.problem = problem;
  }

  /** The error of a failed call, from openapi-fetch's `error` (the parsed body) and the response. */
  static from(response: Response, body: unknown): ProblemError {
    const problem =
      body && typeof body === 'object' && typeof (body as { code?: unknown }).code === 'string'
        ? (body as Problem)
        : undefined;
    return new ProblemError(response.status, problem, typeof body === 'string' ? body : undefined);
  }
}
