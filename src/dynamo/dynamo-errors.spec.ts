import { DomainError } from '../common/errors/domain-error.js';
import { cancellationReasons, isConditionalCheckFailed, translateDynamoError } from './dynamo-errors.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

describe('translateDynamoError', () => {
  it.each([
    ['ProvisionedThroughputExceededException', 'database_throttled'],
    ['ThrottlingException', 'database_throttled'],
    ['RequestLimitExceeded', 'database_throttled'],
    ['TimeoutError', 'database_timeout'],
    ['TransactionConflictException', 'transaction_conflict'],
    ['ResourceNotFoundException', 'database_unavailable'],
  ])('maps %s to 503 %s', (name, code) => {
    const translated = translateDynamoError(sdkError(name));
    expect(translated).toBeInstanceOf(DomainError);
    expect(translated?.status).toBe(503);
    expect(translated?.code).toBe(code);
    expect(translated?.extras.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('maps a refused connection wrapped into a message-only error', () => {
    const wrapped = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1');
    expect(translateDynamoError(wrapped)?.code).toBe('database_unavailable');
  });

  it('maps a refused connection, also when wrapped as a cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(translateDynamoError(refused)?.code).toBe('database_unavailable');
    expect(translateDynamoError(Object.assign(new Error('wrapped'), { cause: refused }))?.code).toBe(
      'database_unavailable',
    );
  });

  it('maps a transaction cancelled by a conflict, but not one cancelled by a condition', () => {
    const conflicted = sdkError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
    });
    expect(translateDynamoError(conflicted)?.code).toBe('transaction_conflict');
    const conditional = sdkError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
    });
    expect(translateDynamoError(conditional)).toBeUndefined();
  });

  it('leaves programming errors alone so they stay 500s', () => {
    expect(translateDynamoError(new TypeError('x is undefined'))).toBeUndefined();
    expect(translateDynamoError(sdkError('ValidationException'))).toBeUndefined();
  });

  it('passes domain errors through', () => {
    const domain = new DomainError(409, 'email_taken', 'taken');
    expect(translateDynamoError(domain)).toBe(domain);
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
