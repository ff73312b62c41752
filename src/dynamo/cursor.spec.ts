import { DomainError } from '../common/errors/domain-error.js';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { CursorCodec, deriveCursorKey } from './cursor.js';

// Codecs are made inside each test (beforeEach), not when the file loads: code run at load time
// is "static" to StrykerJS, which then runs the whole unit tier for each of its mutants.
const SECRET = 'a-secret-that-is-at-least-32-bytes-long!!';

describe('CursorCodec', () => {
  let codec: CursorCodec;
  beforeEach(() => {
    codec = new CursorCodec(SECRET);
  });
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

describe('CursorCodec bounds and shape', () => {
  let codec: CursorCodec;
  beforeEach(() => {
    codec = new CursorCodec(SECRET);
  });
  const invalidCursor = expect.objectContaining({ status: 400, code: 'invalid_cursor' });

  // A cursor is IV (12) + ciphertext + tag (16) bytes in base64url: a key whose JSON is 1,508
  // bytes seals into 1,536 bytes, exactly 2,048 characters.
  const sealedKeyOf = (valueLength: number) => ({ PK: 'x'.repeat(valueLength) });

  it('accepts a cursor of exactly 2,048 characters and refuses a longer one before decrypting it', () => {
    const longest = codec.encode(sealedKeyOf(1499), 'users')!;
    expect(longest).toHaveLength(2048);
    expect(codec.decode(longest, 'users')).toEqual(sealedKeyOf(1499));

    const tooLong = codec.encode(sealedKeyOf(1500), 'users')!;
    expect(tooLong.length).toBeGreaterThan(2048);
    expect(() => codec.decode(tooLong, 'users')).toThrow(invalidCursor);
  });

  it('refuses characters outside base64url anywhere in the cursor', () => {
    const cursor = codec.encode({ PK: 'USER#abc' }, 'users')!;
    for (const bad of [`${cursor}=`, `+${cursor}`, `${cursor.slice(0, 10)}/${cursor.slice(11)}`])
      expect(() => codec.decode(bad, 'users')).toThrow(invalidCursor);
  });

  it('refuses a cursor too short to hold an IV and a tag', () => {
    const cursor = codec.encode({ PK: 'USER#abc' }, 'users')!;
    const bytes = Buffer.from(cursor, 'base64url');
    // The IV and the tag alone, without the sealed key, and shorter still.
    for (const length of [28, 27, 1]) {
      const short = Buffer.concat([bytes.subarray(0, 12), bytes.subarray(bytes.length - 16)]).subarray(0, length);
      expect(() => codec.decode(short.toString('base64url'), 'users')).toThrow(invalidCursor);
    }
  });

  // Sealed with the real key but not a LastEvaluatedKey (a cursor of another format or version):
  // refused rather than handed to DynamoDB as ExclusiveStartKey.
  it.each([
    ['an array', ['USER#abc', 'USER']],
    ['a string', 'USER#abc'],
    ['a number', 42],
    ['a key with a nested object', { PK: 'USER#abc', SK: { S: 'USER' } }],
    ['a key with a boolean', { PK: 'USER#abc', SK: true }],
    ['a key with a null', { PK: 'USER#abc', SK: null }],
  ])('refuses a sealed value that is %s', (_what, value) => {
    const cursor = codec.encode(value as never, 'users')!;
    expect(() => codec.decode(cursor, 'users')).toThrow(invalidCursor);
  });

  // The documented format sealed by hand, for plaintexts `encode` never produces.
  const seal = (plain: string, scope: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', deriveCursorKey(SECRET), iv);
    cipher.setAAD(Buffer.from(scope, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  };

  it('decodes what is sealed in the documented format, and refuses sealed JSON null or non-JSON', () => {
    expect(codec.decode(seal('{"PK":"USER#abc"}', 'users'), 'users')).toEqual({ PK: 'USER#abc' });
    expect(() => codec.decode(seal('null', 'users'), 'users')).toThrow(invalidCursor);
    expect(() => codec.decode(seal('{"PK":', 'users'), 'users')).toThrow(invalidCursor);
  });

  it('accepts string and number key attributes', () => {
    const key = { PK: 'POST#abc', SK: 'POST', GSI5SK: 17 };
    expect(codec.decode(codec.encode(key, 'tags')!, 'tags')).toEqual(key);
  });
});
