import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { badRequest } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

export type LastEvaluatedKey = Record<string, NativeAttributeValue>;

/**
 * Opaque pagination cursors: base64url(JSON of LastEvaluatedKey) + "." + HMAC. The HMAC
 * covers a `scope` naming the listing (index and partition), so a client can neither forge
 * a key nor replay one listing's cursor on another. Every failure is a 400 `invalid_cursor`.
 */
export class CursorCodec {
  constructor(private readonly secret: string) {}

  encode(key: LastEvaluatedKey | undefined, scope: string): string | null {
    if (!key) return null;
    const payload = Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
    return `${payload}.${this.sign(payload, scope)}`;
  }

  decode(cursor: string | undefined, scope: string): LastEvaluatedKey | undefined {
    if (cursor === undefined || cursor === '') return undefined;
    const invalid = () =>
      badRequest(ErrorCode.InvalidCursor, 'The cursor is malformed, tampered with, or from another listing.');
    const parts = cursor.split('.');
    if (parts.length !== 2 || cursor.length > 2048) throw invalid();
    const [payload, signature] = parts as [string, string];
    const expected = Buffer.from(this.sign(payload, scope));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    let key: unknown;
    try {
      key = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid();
    const values = Object.values(key as Record<string, unknown>);
    if (values.some((v) => typeof v !== 'string' && typeof v !== 'number')) throw invalid();
    return key;
  }

  private sign(payload: string, scope: string): string {
    return createHmac('sha256', this.secret).update(`${scope}\n${payload}`).digest('base64url').slice(0, 32);
  }
}
