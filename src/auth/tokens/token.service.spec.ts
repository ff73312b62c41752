import { createHash } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config.js';
import { JWT_ALGORITHM, jwtKeyOf, TokenService } from './token.service.js';

const USER = 'U'.repeat(21);
const SESSION = 'S'.repeat(21);

function configWith(jwtSecret: string): AppConfig {
  return {
    auth: { jwtSecret, jwtIssuer: 'issuer-a', jwtAudience: 'audience-a', accessTokenTtlSeconds: 900 },
  } as AppConfig;
}

describe('TokenService', () => {
  const config = configWith('a-test-secret-that-is-long-enough-0123456789');
  const jwt = new JwtService({});
  const tokens = new TokenService(jwt, config);
  const otherServer = new TokenService(jwt, configWith('another-secret-that-is-long-enough-0123456'));

  describe('refresh tokens', () => {
    it('parse back to their user, session and generation, with the SHA-256 of the whole token', () => {
      const { token, hash } = tokens.newRefreshToken(USER, SESSION, 7);
      expect(token.split('.')).toHaveLength(5);
      expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(tokens.parseRefreshToken(token)).toEqual({ userId: USER, sessionId: SESSION, generation: 7, hash });
    });

    it('are new each time, even for the same session and generation', () => {
      expect(tokens.newRefreshToken(USER, SESSION, 1).token).not.toBe(tokens.newRefreshToken(USER, SESSION, 1).token);
    });

    it('are refused when any part was changed: the MAC covers user, session, generation and random part', () => {
      const { token } = tokens.newRefreshToken(USER, SESSION, 3);
      const parts = token.split('.');
      const changed = (index: number, value: string) => parts.map((part, i) => (i === index ? value : part)).join('.');
      expect(tokens.parseRefreshToken(changed(0, 'V'.repeat(21)))).toBeUndefined();
      expect(tokens.parseRefreshToken(changed(1, 'T'.repeat(21)))).toBeUndefined();
      expect(tokens.parseRefreshToken(changed(2, '4'))).toBeUndefined();
      expect(tokens.parseRefreshToken(changed(3, 'A'.repeat(43)))).toBeUndefined();
      expect(tokens.parseRefreshToken(changed(4, 'A'.repeat(32)))).toBeUndefined();
    });

    it("are refused by a server with another secret (the MAC key is derived from the server's secret)", () => {
      const { token } = tokens.newRefreshToken(USER, SESSION, 1);
      expect(otherServer.parseRefreshToken(token)).toBeUndefined();
    });

    it('refuse malformed input: ids, part count, generation form and random part', () => {
      const { token } = tokens.newRefreshToken(USER, SESSION, 1);
      const [, , , random, mac] = token.split('.');
      for (const malformed of [
        '',
        'not-a-token',
        `short.${SESSION}.1.${random}.${mac}`,
        `${USER}.${SESSION}.1.${random}`,
        `${USER}.${SESSION}.1.${random}.${mac}.extra`,
        `${USER}.${SESSION}.01.${random}.${mac}`, // leading zero: one spelling per generation
        `${USER}.${SESSION}.1234567890.${random}.${mac}`, // past nine digits
        `${USER}.${SESSION}.-1.${random}.${mac}`,
        `${USER}.${SESSION}.1.${random.slice(1)}.${mac}`,
      ]) {
        expect({ malformed, parsed: tokens.parseRefreshToken(malformed) }).toEqual({ malformed, parsed: undefined });
      }
    });

    it('refuse a generation past nine digits even when the MAC is right', () => {
      expect(tokens.parseRefreshToken(tokens.newRefreshToken(USER, SESSION, 999_999_999).token)).toMatchObject({
        generation: 999_999_999,
      });
      expect(tokens.parseRefreshToken(tokens.newRefreshToken(USER, SESSION, 1_000_000_000).token)).toBeUndefined();
    });

    it('accept the old three-part form (no generation, no MAC) only with a 256-bit random part', () => {
      const random = 'r'.repeat(43);
      const old = `${USER}.${SESSION}.${random}`;
      expect(tokens.parseRefreshToken(old)).toEqual({
        userId: USER,
        sessionId: SESSION,
        generation: undefined,
        hash: createHash('sha256').update(old).digest('hex'),
      });
      expect(tokens.parseRefreshToken(`${USER}.${SESSION}.${random.slice(1)}`)).toBeUndefined();
    });
  });

  describe('access tokens', () => {
    const claims = { sub: USER, sid: SESSION, role: 'user' as const };
    const verify = (token: string, secretOf = config) =>
      jwt.verifyAsync<Record<string, unknown>>(token, {
        algorithms: [JWT_ALGORITHM],
        issuer: 'issuer-a',
        audience: 'audience-a',
        publicKey: jwtKeyOf(secretOf.auth) as unknown as Buffer,
      });

    it('carry subject, session and role, signed HS256 for the configured issuer and audience, for the configured lifetime', async () => {
      const token = await tokens.signAccessToken(claims);
      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { alg: string };
      expect(header.alg).toBe('HS256');
      const payload = await verify(token);
      expect(payload).toMatchObject({ sub: USER, sid: SESSION, role: 'user', iss: 'issuer-a', aud: 'audience-a' });
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
      expect(tokens.accessTokenTtlSeconds).toBe(900);
    });

    it('live as long as asked when a lifetime is given (a Conduit token lives as long as its session)', async () => {
      const payload = await verify(await tokens.signAccessToken(claims, 86_400));
      expect((payload.exp as number) - (payload.iat as number)).toBe(86_400);
    });

    it('do not verify with another secret', async () => {
      await expect(
        verify(await tokens.signAccessToken(claims), configWith('another-secret-that-is-long-enough-0123456')),
      ).rejects.toThrow(/invalid signature/);
    });
  });
});
