import { KeyObject } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { JWT_ALGORITHM, jwtKeyOf } from './token.service.js';

describe('jwtKeyOf', () => {
  const auth = { jwtSecret: 'a-test-secret-that-is-long-enough-0123456789' } as Parameters<typeof jwtKeyOf>[0];
  const other = { jwtSecret: 'another-secret-that-is-long-enough-0123456' } as Parameters<typeof jwtKeyOf>[0];
  const jwt = new JwtService({});
  // Only @nestjs/jwt's verify types say string | Buffer; jsonwebtoken takes the KeyObject.
  const asKey = (key: KeyObject) => key as unknown as Buffer;

  it('is a secret KeyObject of the configured secret, made once per configuration', () => {
    const key = jwtKeyOf(auth);
    expect(key).toBeInstanceOf(KeyObject);
    expect(key.type).toBe('secret');
    expect(key.export().toString('utf8')).toBe(auth.jwtSecret);
    expect(jwtKeyOf(auth)).toBe(key);
    expect(jwtKeyOf({ ...auth })).not.toBe(key);
  });

  it('signs and verifies the same tokens as the string secret (tokens issued before stay valid)', async () => {
    const key = jwtKeyOf(auth);
    const byString = await jwt.signAsync(
      { sid: 's1' },
      { algorithm: JWT_ALGORITHM, subject: 'u1', secret: auth.jwtSecret },
    );
    const byKey = await jwt.signAsync({ sid: 's1' }, { algorithm: JWT_ALGORITHM, subject: 'u1', privateKey: key });
    await expect(
      jwt.verifyAsync(byKey, { algorithms: [JWT_ALGORITHM], secret: auth.jwtSecret }),
    ).resolves.toMatchObject({ sub: 'u1', sid: 's1' });
    await expect(
      jwt.verifyAsync(byString, { algorithms: [JWT_ALGORITHM], publicKey: asKey(key) }),
    ).resolves.toMatchObject({ sub: 'u1', sid: 's1' });
    await expect(
      jwt.verifyAsync(byString, { algorithms: [JWT_ALGORITHM], publicKey: asKey(jwtKeyOf(other)) }),
    ).rejects.toThrow(/invalid signature/);
  });
});
