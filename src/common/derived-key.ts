import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * The 256-bit key of one purpose, derived from a secret with HKDF-SHA256 under the purpose's label
 * (each purpose has a label of its own, so no key serves two purposes).
 */
export const derivedKeyBytes = (secret: string, label: string): Buffer =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), label, 32));

/**
 * The same key as a `KeyObject`, for keys used on request paths: on Node 24 (OpenSSL 3.5)
 * `createHmac` and `createCipheriv` import a key given as bytes on every call, about 12-15 µs each,
 * against about 2 µs with a `KeyObject` (on Node 20 both cost the same; docs/performance.md,
 * "Session 21").
 */
export const derivedKey = (secret: string, label: string): KeyObject => createSecretKey(derivedKeyBytes(secret, label));
