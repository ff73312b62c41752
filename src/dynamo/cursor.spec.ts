import { DomainError } from '../common/errors/domain-error.js';
import { createHmac } from 'node:crypto';
import { CursorCodec, deriveCursorKey } from './cursor.js';

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
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(cursor!, 'users')).toEqual(key);
  });

  it('reveals no table key: the key is encrypted, and each encoding differs', () => {
    const cursor = codec.encode(key, 'users')!;
    const bytes = Buffer.from(cursor, 'base64url').toString('latin1');
    for (const part of ['USER#abc', 'GSI1', 'USERS', '2026-01-01']) expect(bytes).not.toContain(part);
    expect(codec.encode(key, 'users')).not.toBe(cursor);
  });

  it('derives its key with HKDF under its own label, not the secret itself', () => {
    const secret = 'a-secret-that-is-at-least-32-bytes-long!!';
    const derived = deriveCursorKey(secret);
    expect(derived).toHaveLength(32);
    expect(derived.equals(Buffer.from(secret).subarray(0, 32))).toBe(false);
    // Not the HMAC key a JWT signed with the same secret uses either.
    expect(derived.equals(createHmac('sha256', secret).digest())).toBe(false);
  });

  it('gives null for the last page and undefined for no cursor', () => {
    expect(codec.encode(undefined, 'users')).toBeNull();
    expect(codec.decode(undefined, 'users')).toBeUndefined();
    expect(codec.decode('', 'users')).toBeUndefined();
  });

  it.each([0, 5, 12, 30, -1])('refuses a cursor with a changed byte at %i', (at) => {
    const bytes = Buffer.from(codec.encode(key, 'users')!, 'base64url');
    const index = at < 0 ? bytes.length + at : at;
    bytes[index] = bytes[index] ^ 0x01;
    expectInvalid(() => codec.decode(bytes.toString('base64url'), 'users'));
  });

  it('refuses a plain base64 key (the old unencrypted form)', () => {
    const plain = Buffer.from(JSON.stringify(key)).toString('base64url');
    expectInvalid(() => codec.decode(plain, 'users'));
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
