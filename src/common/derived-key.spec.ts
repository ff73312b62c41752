import { createHmac, hkdfSync } from 'node:crypto';
import { derivedKey, derivedKeyBytes } from './derived-key.js';

describe('derivedKey', () => {
  const secret = 'a-secret-of-at-least-thirty-two-characters';

  it('is HKDF-SHA256 of the secret under the label, 32 bytes, the same as bytes and as a KeyObject', () => {
    const expected = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'label/v1', 32));
    expect(derivedKeyBytes(secret, 'label/v1')).toEqual(expected);
    const key = derivedKey(secret, 'label/v1');
    expect(key.type).toBe('secret');
    expect(key.export()).toEqual(expected);
    // an HMAC under the KeyObject is the HMAC under the bytes: tokens minted before stay valid
    expect(createHmac('sha256', key).update('x').digest('hex')).toBe(
      createHmac('sha256', expected).update('x').digest('hex'),
    );
  });

  it('gives each label and each secret a key of its own', () => {
    const a = derivedKeyBytes(secret, 'purpose-a');
    expect(derivedKeyBytes(secret, 'purpose-b')).not.toEqual(a);
    expect(derivedKeyBytes(`${secret}!`, 'purpose-a')).not.toEqual(a);
  });
});
