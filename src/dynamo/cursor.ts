import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { derivedKey, derivedKeyBytes } from '../common/derived-key.js';
import { badRequest } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

export type LastEvaluatedKey = Record<string, NativeAttributeValue>;

/** The HKDF label of the cursor key: no other key is derived under it, so no key serves two purposes. */
export const CURSOR_KEY_LABEL = 'publishing-api/pagination-cursor/aes-256-gcm/v1';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Derives the 256-bit cursor key from a secret (JWT_SECRET or CURSOR_SECRET) with HKDF-SHA256. */
export const deriveCursorKey = (secret: string): Buffer => derivedKeyBytes(secret, CURSOR_KEY_LABEL);

/**
 * Opaque pagination cursors: the LastEvaluatedKey encrypted with AES-256-GCM (random IV), so
 * a client sees no table keys, and authenticated with the listing's `scope` (index and
 * partition) as associated data, so a client can neither forge or alter a cursor nor replay
 * one listing's cursor on another. Every failure is a 400 `invalid_cursor`.
 */
export class CursorCodec {
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = derivedKey(secret, CURSOR_KEY_LABEL);
  }

  encode(key: LastEvaluatedKey | undefined, scope: string): string | null {
    if (!key) return null;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(scope, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(key), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  decode(cursor: string | undefined, scope: string): LastEvaluatedKey | undefined {
    if (cursor === undefined || cursor === '') return undefined;
    const invalid = () =>
      badRequest(ErrorCode.InvalidCursor, 'The cursor is malformed, tampered with, or from another listing.');
    if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) throw invalid();
    let key: unknown;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(scope, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      key = JSON.parse(plain.toString('utf8'));
    } catch {
      throw invalid();
    }
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid();
    const values = Object.values(key as Record<string, unknown>);
    if (values.some((v) => typeof v !== 'string' && typeof v !== 'number')) throw invalid();
    return key;
  }
}
