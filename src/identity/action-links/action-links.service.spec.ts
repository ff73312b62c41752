import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../../common/clock/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { InMemoryMailer } from '../../mail/in-memory.mailer.js';
import { MAILER } from '../../mail/mailer.js';
import { ActionLinksService } from './action-links.service.js';
import type { ActionToken, ActionTokenKind } from './action-tokens.repository.js';
import { ActionTokensRepository } from './action-tokens.repository.js';

/** Records what the service stores and asks to consume, in place of DynamoDB. */
class FakeTokens {
  readonly created: { hash: string; token: ActionToken }[] = [];
  readonly consumed: { hash: string; kind: ActionTokenKind; now: Date }[] = [];

  create(hash: string, token: ActionToken): Promise<void> {
    this.created.push({ hash, token });
    return Promise.resolve();
  }

  consume(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    this.consumed.push({ hash, kind, now });
    return Promise.resolve(this.created.find((c) => c.hash === hash)?.token);
  }
}

describe('ActionLinksService on a fixed clock', () => {
  const AT = '2026-05-15T12:00:00.000Z';
  let service: ActionLinksService;
  let tokens: FakeTokens;
  let mailer: InMemoryMailer;
  let clock: SettableClock;

  beforeEach(async () => {
    tokens = new FakeTokens();
    mailer = new InMemoryMailer();
    clock = new SettableClock().set(AT);
    const moduleRef = await Test.createTestingModule({
      providers: [
        ActionLinksService,
        { provide: ActionTokensRepository, useValue: tokens },
        { provide: MAILER, useValue: mailer },
        { provide: CLOCK, useValue: clock },
        {
          provide: APP_CONFIG,
          useValue: loadConfig({
            NODE_ENV: 'test',
            PUBLIC_URL: 'https://blog.example',
            ACTION_TOKEN_TTL_SECONDS: '1800',
          }),
        },
      ],
    }).compile();
    service = moduleRef.get(ActionLinksService);
  });

  it("dates a link by the clock: created now, expiring ACTION_TOKEN_TTL_SECONDS later, its token's hash stored", async () => {
    await service.send('password_reset', { id: 'u1', email: 'ada@example.com', passwordGeneration: 3 });
    expect(tokens.created).toHaveLength(1);
    expect(tokens.created[0].token).toEqual({
      kind: 'password_reset',
      userId: 'u1',
      email: 'ada@example.com',
      passwordGeneration: 3,
      createdAt: AT,
      expiresAt: '2026-05-15T12:30:00.000Z',
    });
    const token = mailer.tokenFor('ada@example.com', 'password_reset')!;
    expect(mailer.last('ada@example.com', 'password_reset')!.link).toBe(
      `https://blog.example/reset-password?token=${token}`,
    );
    expect(tokens.created[0].hash).toBe(createHash('sha256').update(token).digest('hex'));
  });

  it("judges a link's expiry at the clock's time, not the machine's", async () => {
    await service.send('email_verification', { id: 'u2', email: 'bob@example.com' });
    const token = mailer.tokenFor('bob@example.com', 'email_verification')!;
    clock.advance(29 * 60_000);
    await service.consume(token, 'email_verification');
    expect(tokens.consumed).toEqual([
      {
        hash: tokens.created[0].hash,
        kind: 'email_verification',
        now: new Date('2026-05-15T12:29:00.000Z'),
      },
    ]);
    expect(tokens.created[0].token.passwordGeneration).toBe(0);
  });
});
