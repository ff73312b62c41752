import {
  cancellationReasons,
  DatabaseError,
  isConditionalCheckFailed,
  isTransactionCanceled,
  translateDynamoError,
} from './dynamo-errors.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

describe('translateDynamoError', () => {
  it.each([
    ['ProvisionedThroughputExceededException', 'throttled'],
    ['ThrottlingException', 'throttled'],
    ['RequestLimitExceeded', 'throttled'],
    ['TimeoutError', 'timeout'],
    ['TransactionConflictException', 'conflict'],
    ['ResourceNotFoundException', 'unavailable'],
  ])('recognises %s as a database failure: %s', (name, failure) => {
    const translated = translateDynamoError(sdkError(name));
    expect(translated).toBeInstanceOf(DatabaseError);
    expect(translated?.failure).toBe(failure);
    expect(translated?.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('maps a refused connection wrapped into a message-only error', () => {
    const wrapped = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1');
    expect(translateDynamoError(wrapped)?.failure).toBe('unavailable');
  });

  it('maps a refused connection, also when wrapped as a cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(translateDynamoError(refused)?.failure).toBe('unavailable');
    expect(translateDynamoError(Object.assign(new Error('wrapped'), { cause: refused }))?.failure).toBe('unavailable');
  });

  it('maps a transaction cancelled by a conflict, but not one cancelled by a condition', () => {
    const conflicted = sdkError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
    });
    expect(translateDynamoError(conflicted)?.failure).toBe('conflict');
    const conditional = sdkError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
    });
    expect(translateDynamoError(conditional)).toBeUndefined();
  });

  it('leaves programming errors alone so they stay 500s', () => {
    expect(translateDynamoError(new TypeError('x is undefined'))).toBeUndefined();
    expect(translateDynamoError(sdkError('ValidationException'))).toBeUndefined();
  });

  it('passes its own failures through and leaves other errors alone', () => {
    const failure = new DatabaseError('busy', 'busy', 1);
    expect(translateDynamoError(failure)).toBe(failure);
    expect(translateDynamoError(Object.assign(new Error('taken'), { code: 'email_taken' }))).toBeUndefined();
  });
});

describe('cancellationReasons', () => {
  it('aligns reasons with the transaction items', () => {
    const error = sdkError('TransactionCanceledException', {
      CancellationReasons: [
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
      ],
    });
    expect(cancellationReasons(error)).toEqual([
      { index: 0, code: 'None', message: undefined },
      { index: 1, code: 'ConditionalCheckFailed', message: 'The conditional request failed' },
    ]);
    expect(isConditionalCheckFailed(sdkError('ConditionalCheckFailedException'))).toBe(true);
  });
});

describe('translateDynamoError: every way an infrastructure failure shows up', () => {
  const answer = (error: unknown) => {
    const translated = translateDynamoError(error);
    return (
      translated && {
        failure: translated.failure,
        retryAfter: translated.retryAfterSeconds,
      }
    );
  };
  const busy = { failure: 'throttled', retryAfter: 1 };
  const timeout = { failure: 'timeout', retryAfter: 1 };
  const unavailable = { failure: 'unavailable', retryAfter: 5 };
  const conflict = { failure: 'conflict', retryAfter: 1 };

  it('maps throttling by name, with a retry after a second', () => {
    expect(answer(sdkError('LimitExceededException'))).toEqual(busy);
    expect(translateDynamoError(sdkError('ThrottlingException'))?.message).toBe('The database is busy; retry shortly.');
  });

  it.each([
    ['RequestTimeout', {}],
    ['RequestTimeoutException', {}],
    ['AbortError', {}],
    ['Error', { code: 'ETIMEDOUT' }],
    ['Error', { message: 'Connection timed out after 2000 ms' }],
    ['Error', { message: 'socket timeout' }],
    ['Error', { message: 'TIME OUT' }],
  ])('maps a timeout (%s %j)', (name, extra) => {
    expect(answer(sdkError(name, extra))).toEqual(timeout);
  });

  it('does not take any error for a timeout', () => {
    expect(answer(sdkError('Error', { code: 'EOTHER' }))).toBeUndefined();
    expect(answer(sdkError('Error', { message: undefined }))).toBeUndefined();
  });

  it.each(['ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'])(
    'maps %s, by code, by errno and in a message, as unavailable',
    (code) => {
      expect(answer(Object.assign(new Error('x'), { code }))).toEqual(unavailable);
      expect(answer(Object.assign(new Error('x'), { errno: code }))).toEqual(unavailable);
      expect(answer(new Error(`request failed: ${code}`))).toEqual(unavailable);
    },
  );

  it('finds a connection error up to four causes deep, not deeper, and stops at a loop', () => {
    const refused = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    const wrap = (cause: unknown, times: number): unknown =>
      times === 0 ? cause : wrap(Object.assign(new Error('wrapper'), { cause }), times - 1);
    expect(answer(wrap(refused, 4))).toEqual(unavailable);
    expect(answer(wrap(refused, 5))).toBeUndefined();
    const loop: { name: string; message: string; cause?: unknown } = { name: 'Error', message: 'loop' };
    loop.cause = loop;
    expect(answer(loop)).toBeUndefined();
  });

  it('maps a missing table as unavailable, a conflict and an in-progress transaction as conflicts', () => {
    expect(answer(sdkError('ResourceNotFoundException'))).toEqual(unavailable);
    expect(translateDynamoError(sdkError('ResourceNotFoundException'))?.message).toBe(
      'The database table is not available.',
    );
    expect(answer(sdkError('TransactionInProgressException'))).toEqual(conflict);
    expect(translateDynamoError(sdkError('TransactionConflictException'))?.message).toBe(
      'A concurrent change got in the way; retry.',
    );
  });

  it('maps a transaction cancelled by throttling as busy, and not one cancelled for another reason', () => {
    const throttled = sdkError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
    });
    expect(answer(throttled)).toEqual(busy);
    expect(
      answer(sdkError('TransactionCanceledException', { CancellationReasons: [{ Code: 'ValidationError' }] })),
    ).toBeUndefined();
    expect(answer(sdkError('TransactionCanceledException'))).toBeUndefined();
    // The same reasons on an error that is not a cancelled transaction mean nothing.
    expect(
      answer(sdkError('ValidationException', { CancellationReasons: [{ Code: 'ThrottlingError' }] })),
    ).toBeUndefined();
    expect(
      answer(sdkError('ValidationException', { CancellationReasons: [{ Code: 'TransactionConflict' }] })),
    ).toBeUndefined();
  });

  it('leaves values that are not errors alone', () => {
    for (const value of [null, undefined, 'ECONNREFUSED', 42]) expect(answer(value)).toBeUndefined();
  });

  it('recognises cancelled transactions and conditional failures by name only', () => {
    expect(isTransactionCanceled(sdkError('TransactionCanceledException'))).toBe(true);
    expect(isTransactionCanceled(sdkError('ConditionalCheckFailedException'))).toBe(false);
    expect(isTransactionCanceled(null)).toBe(false);
    expect(isConditionalCheckFailed(sdkError('TransactionCanceledException'))).toBe(false);
    expect(isConditionalCheckFailed(undefined)).toBe(false);
    expect(cancellationReasons(sdkError('TransactionCanceledException', { CancellationReasons: [{}] }))).toEqual([
      { index: 0, code: 'None', message: undefined },
    ]);
    expect(cancellationReasons(null)).toEqual([]);
  });
});
