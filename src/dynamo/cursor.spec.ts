import { DomainError } from '../common/errors/domain-error.js';
import { CursorCodec } from './cursor.js';

describe('CursorCodec', () => {
  const codec = new CursorCodec('a-secret-that-is-at-least-32-bytes-long!!');
  const key = { PK: 'USER#abc', SK: 'USER', GSI1PK: 'USERS', GSI1SK: '2026-01-01T00:00:00.000Z#abc' };

  const expectInvalid = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).status).toBe(400);
      expect((error as DomainError).code).toBe('invalid_cursor');
      return;
    }
    throw new Error('expected an invalid_cursor error');
  };

  it('round-trips a LastEvaluatedKey', () => {
    const cursor = codec.encode(key, 'users');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(codec.decode(cursor!, 'users')).toEqual(key);
  });

  it('gives null for the last page and undefined for no cursor', () => {
    expect(codec.encode(undefined, 'users')).toBeNull();
    expect(codec.decode(undefined, 'users')).toBeUndefined();
    expect(codec.decode('', 'users')).toBeUndefined();
  });

  it('refuses a cursor whose payload was edited', () => {
    const [, signature] = codec.encode(key, 'users')!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...key, PK: 'USER#someone-else' })).toString('base64url');
    expectInvalid(() => codec.decode(`${forged}.${signature}`, 'users'));
  });

  it('refuses a cursor from another listing', () => {
    expectInvalid(() => codec.decode(codec.encode(key, 'users')!, 'posts'));
  });

  it('refuses a cursor signed with another secret', () => {
    const other = new CursorCodec('another-secret-that-is-32-bytes-long!!!');
    expectInvalid(() => codec.decode(other.encode(key, 'users')!, 'users'));
  });

  it.each(['garbage', 'a.b.c', '.', '!!!.???', 'x'.repeat(5000)])('refuses malformed input %#', (cursor) => {
    expectInvalid(() => codec.decode(cursor, 'users'));
  });
});
