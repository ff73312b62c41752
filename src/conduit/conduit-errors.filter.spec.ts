import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { conflict, notFound, tooManyRequests, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { isConduitPath, toConduitError } from './conduit-errors.filter.js';

describe('toConduitError: the RealWorld envelope with the native stable code', () => {
  it('keeps the RealWorld statuses and bodies, and adds the code the native API answers with', () => {
    const validation = unprocessable(ErrorCode.ValidationFailed, 'Invalid.', {
      errors: [
        { field: 'article.title', messages: ['should not be empty'] },
        { field: 'article.body', messages: ['must be a string'] },
      ],
    });
    expect(toConduitError(validation)).toEqual({
      status: 422,
      body: { errors: { title: ['should not be empty'], body: ['must be a string'] }, code: 'validation_failed' },
    });
    // A taken username is a 409 natively, a 422 on the field in RealWorld: the code stays the native one.
    expect(toConduitError(conflict(ErrorCode.UsernameTaken, 'Taken.'))).toEqual({
      status: 422,
      body: { errors: { username: ['has already been taken'] }, code: 'username_taken' },
    });
    expect(toConduitError(notFound(ErrorCode.PostNotFound, 'No such post.'))).toEqual({
      status: 404,
      body: { errors: { body: ['No such post.'] }, code: 'post_not_found' },
    });
    expect(toConduitError(tooManyRequests(ErrorCode.TooManyRequests, 'Slow down.', 7))).toEqual({
      status: 429,
      body: { errors: { body: ['Slow down.'] }, code: 'too_many_requests' },
      retryAfter: 7,
    });
  });

  it("codes Nest's own exceptions as problem+json does, and anything else as internal_error", () => {
    expect(toConduitError(new NotFoundException('Cannot GET /api/nothing')).body.code).toBe('route_not_found');
    expect(toConduitError(new PayloadTooLargeException()).body.code).toBe('payload_too_large');
    expect(toConduitError(new Error('boom'))).toEqual({
      status: 500,
      body: { errors: { body: ['An unexpected error occurred.'] }, code: 'internal_error' },
    });
  });
});

describe("the body parser's errors on Conduit's paths (review 22a note)", () => {
  const parserError = (status: number, type: string) => Object.assign(new Error('parser'), { status, type });

  it('renders them in the envelope with the native status and code', () => {
    expect(toConduitError(parserError(400, 'entity.parse.failed'))).toEqual({
      status: 400,
      body: { errors: { body: ['The body is not valid JSON.'] }, code: 'malformed_json' },
    });
    expect(toConduitError(parserError(413, 'entity.too.large')).body.code).toBe('payload_too_large');
    expect(toConduitError(parserError(415, 'charset.unsupported')).body.code).toBe('unsupported_media_type');
    expect(toConduitError(parserError(400, 'request.aborted'))).toMatchObject({
      status: 400,
      body: { code: 'bad_request' },
    });
  });

  it("tells Conduit's paths from the native prefix's, case-insensitively as Express routes", () => {
    const conduit = (path: string) => isConduitPath(path, '/api/v1');
    expect(['/api/users/login', '/API/users', '/api/articles/x/comments', '/api/v1x'].map(conduit)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['/api/v1', '/api/v1/auth/login', '/API/V1/posts', '/api', '/health/live'].map(conduit)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
