import { jest } from '@jest/globals';
import { HttpException, Logger, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../common/errors/domain-error.js';
import { ERROR_CODES, ErrorCode, PROBLEM_TYPE_BASE } from '../common/errors/error-codes.js';
import { DatabaseError, type DatabaseFailure } from '../dynamo/dynamo-errors.js';
import { domainErrorOf, sendProblem } from './problem-details.filter.js';

/** Renders one exception the way the app does and returns the problem body. */
function render(exception: unknown): { status: number; code: string; type: string } {
  let body = '';
  let status = 0;
  const response = {
    headersSent: false,
    setHeader: () => undefined,
    hasHeader: () => false,
    getHeader: () => 'req-1',
    status(code: number) {
      status = code;
      return this;
    },
    type() {
      return this;
    },
    send(text: string) {
      body = text;
      return this;
    },
  } as unknown as Response;
  const request = { method: 'GET', originalUrl: '/x', url: '/x' } as unknown as Request;
  sendProblem(exception, request, response);
  const problem = JSON.parse(body) as { status: number; code: string; type: string };
  expect(problem.status).toBe(status);
  return problem;
}

describe('problem+json codes', () => {
  beforeAll(() => {
    // The 5xx cases below log their (expected) errors.
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it('never answers with a code outside the catalogue, whatever status Nest or Express raises', () => {
    const emitted = new Set<string>();
    for (let status = 400; status <= 599; status++) {
      emitted.add(render(new HttpException('boom', status)).code);
      emitted.add(render(new HttpException({ message: ['a', 'b'] }, status)).code);
      // body-parser and other Express middleware errors carry `status`/`statusCode` and a `type`.
      emitted.add(render(Object.assign(new Error('x'), { status, type: 'some.error' })).code);
      emitted.add(render(Object.assign(new Error('x'), { statusCode: status })).code);
    }
    for (const type of ['entity.parse.failed', 'entity.too.large', 'encoding.unsupported', 'charset.unsupported'])
      emitted.add(render(Object.assign(new Error('x'), { status: 400, type })).code);
    emitted.add(render(new Error('unexpected')).code);
    emitted.add(render('a thrown string').code);
    emitted.add(render(undefined).code);
    for (const code of ERROR_CODES) emitted.add(render(new DomainError(409, code, 'x')).code);

    const outside = [...emitted].filter((code) => !(ERROR_CODES as readonly string[]).includes(code));
    expect(outside).toEqual([]);
  });

  it("gives Nest's own errors their `http_<status>` code, and names the ones it knows", () => {
    expect(render(new HttpException('Gone', 410)).code).toBe(ErrorCode.Http410);
    expect(render(new HttpException('Teapot', 418)).code).toBe(ErrorCode.Http418);
    expect(render(new NotFoundException('Cannot GET /nope')).code).toBe(ErrorCode.RouteNotFound);
    expect(render(new NotFoundException('no such thing')).code).toBe(ErrorCode.Http404);
    expect(render(new PayloadTooLargeException()).code).toBe(ErrorCode.PayloadTooLarge);
    // A status the catalogue has no code for falls back to its class's generic code.
    expect(render(new HttpException('x', 451)).code).toBe(ErrorCode.BadRequest);
    expect(render(new HttpException('x', 599)).code).toBe(ErrorCode.InternalError);
  });

  it.each<[DatabaseFailure, ErrorCode]>([
    ['throttled', ErrorCode.DatabaseThrottled],
    ['timeout', ErrorCode.DatabaseTimeout],
    ['unavailable', ErrorCode.DatabaseUnavailable],
    ['conflict', ErrorCode.TransactionConflict],
    ['busy', ErrorCode.DatabaseBusy],
  ])("answers the database's %s failure with 503 %s, its detail and Retry-After", (failure, code) => {
    const error = new DatabaseError(failure, 'The database said no.', 7);
    expect(render(error)).toMatchObject({ status: 503, code, detail: 'The database said no.' });
    expect(domainErrorOf(error)?.extras.retryAfterSeconds).toBe(7);
    // An SDK error is recognised on the way (the same path as the request pipeline's).
    expect(render(Object.assign(new Error('x'), { name: 'ThrottlingException' })).code).toBe(
      ErrorCode.DatabaseThrottled,
    );
  });

  it('types each problem <PROBLEM_TYPE_BASE>/<code, - for _>, the base in one place', () => {
    expect(render(new DomainError(409, ErrorCode.EmailTaken, 'taken')).type).toBe(`${PROBLEM_TYPE_BASE}/email-taken`);
    expect(render(new NotFoundException()).type).toBe(`${PROBLEM_TYPE_BASE}/http-404`);
  });

  it('has unique values', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
