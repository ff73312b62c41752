import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../../common/clock/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { ItemKey } from '../../dynamo/keys.js';
import { InMemoryMailer } from '../../mail/in-memory.mailer.js';
import { MAILER } from '../../mail/mailer.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import { ActionLinksService } from './action-links.service.js';
import type { ActionToken, ActionTokenKind, MailRequest } from './action-tokens.repository.js';
import { ActionTokensRepository } from './action-tokens.repository.js';

/** Records what the service stores, mints and consumes, in place of DynamoDB. */
class FakeTokens {
  readonly requests = new Map<string, { key: ItemKey; request: MailRequest }>();
  readonly minted: { hash: string; token: ActionToken }[] = [];
  readonly consumed: { hash: string; kind: ActionTokenKind; now: Date }[] = [];

  requestMail(key: ItemKey, request: MailRequest): Promise<void> {
    this.requests.set(`${key.PK}/${key.SK}`, { key, request });
    return Promise.resolve();
  }

  /** Like the transaction: only while the request is there, and it goes. */
  mint(hash: string, token: ActionToken, request: ItemKey): Promise<boolean> {
    if (!this.requests.delete(`${request.PK}/${request.SK}`)) return Promise.resolve(false);
    this.minted.push({ hash, token });
    return Promise.resolve(true);
  }

  consume(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    this.consumed.push({ hash, kind, now });
    return Promise.resolve(this.minted.find((c) => c.hash === hash)?.token);
  }

  only(): { key: ItemKey; request: MailRequest } {
    expect(this.requests.size).toBe(1);
    return [...this.requests.values()][0];
  }
}

class FailingMailer extends InMemoryMailer {
  override send(): Promise<void> {
    return Promise.reject(new Error('mail server down'));
  }
}

describe('ActionLinksService on a fixed clock', () => {
  const AT = '2026-05-15T12:00:00.000Z';
  let service: ActionLinksService;
  let tokens: FakeTokens;
  let mailer: InMemoryMailer;
  let clock: SettableClock;
  let metrics: AppMetrics;

  /** `mail_deliveries_total` as /metrics shows it, one `kind outcome value` string per series. */
  async function deliveries(): Promise<string[]> {
    const { values } = await metrics.mailDeliveries().get();
    return values.map(({ labels, value }) => `${labels.kind} ${labels.outcome} ${value}`);
  }

  async function build(mail: InMemoryMailer = new InMemoryMailer()) {
    tokens = new FakeTokens();
    mailer = mail;
    clock = new SettableClock().set(AT);
    metrics = new AppMetrics();
    const moduleRef = await Test.createTestingModule({
      providers: [
        ActionLinksService,
        { provide: ActionTokensRepository, useValue: tokens },
        { provide: MAILER, useValue: mailer },
        { provide: CLOCK, useValue: clock },
        { provide: AppMetrics, useValue: metrics },
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
  }

  beforeEach(() => build());

  it('a request writes who the link is for, dated by the clock, and no token; the mailer is not called', async () => {
    await service.requestLink('password_reset', {
      id: 'u1',
      email: 'ada@example.com',
      passwordGeneration: 3,
      resetGeneration: 2,
    });
    const { key, request } = tokens.only();
    expect(key.PK).toBe('USER#u1');
    expect(key.SK).toMatch(/^MAILREQ#[A-Za-z0-9_-]{16}$/);
    expect(request).toEqual({
      kind: 'password_reset',
      userId: 'u1',
      email: 'ada@example.com',
      passwordGeneration: 3,
      resetGeneration: 2,
      createdAt: AT,
      expiresAt: '2026-05-15T12:30:00.000Z',
    });
    expect(mailer.outbox).toEqual([]);
  });

  it('nobody to mail: a stand-in of the same shape without an address, in a partition of its own; delivering it sends nothing', async () => {
    await service.requestLink('password_reset', undefined);
    const { key, request } = tokens.only();
    expect(key.PK).toMatch(/^USER#nobody-[A-Za-z0-9_-]{16}$/);
    expect(request).not.toHaveProperty('email');
    expect(await service.deliver(key, { ...request })).toBe('nobody');
    expect(tokens.minted).toEqual([]);
    expect(mailer.outbox).toEqual([]);
  });

  it("delivery mints the link with the request's dates and binding, stores its hash, mails it; a replay mints and sends nothing", async () => {
    await service.requestLink('password_reset', { id: 'u1', email: 'ada@example.com', passwordGeneration: 3 });
    const { key, request } = tokens.only();
    clock.advance(60_000); // the worker's lag does not lengthen the link
    expect(await service.deliver(key, { ...request })).toBe('sent');
    expect(tokens.minted).toHaveLength(1);
    expect(tokens.minted[0].token).toEqual(request);
    const token = mailer.tokenFor('ada@example.com', 'password_reset')!;
    expect(mailer.last('ada@example.com', 'password_reset')!.link).toBe(
      `https://blog.example/reset-password?token=${token}`,
    );
    expect(tokens.minted[0].hash).toBe(createHash('sha256').update(token).digest('hex'));

    expect(await service.deliver(key, { ...request })).toBe('already_minted');
    expect(tokens.minted).toHaveLength(1);
    expect(mailer.outbox).toHaveLength(1);
    expect(await deliveries()).toEqual(['password_reset sent 1']);
  });

  it('a request past its link lifetime when the processor reaches it is neither minted nor sent', async () => {
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const { key, request } = tokens.only();
    clock.advance(1800 * 1000);
    expect(await service.deliver(key, { ...request })).toBe('expired');
    expect(tokens.minted).toEqual([]);
    expect(mailer.outbox).toEqual([]);
  });

  it('a mail that fails after the mint is lost, not retried (at most once): the request is used up', async () => {
    await build(new FailingMailer());
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const { key, request } = tokens.only();
    expect(await service.deliver(key, { ...request })).toBe('send_failed');
    expect(await service.deliver(key, { ...request })).toBe('already_minted');
    expect(tokens.minted).toHaveLength(1);
    // Lost, so counted where an alert can see it (review 4, #8); the replay counts nothing.
    expect(await deliveries()).toEqual(['email_verification failed 1']);
  });

  it('an image that is not a mail request is refused as malformed', async () => {
    expect(await service.deliver({ PK: 'USER#u1', SK: 'MAILREQ#x' }, { kind: 'password_changed' })).toBe('malformed');
    expect(await service.deliver({ PK: 'USER#u1', SK: 'MAILREQ#x' }, undefined)).toBe('malformed');
  });

  it("judges a link's expiry at the clock's time, not the machine's", async () => {
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const { key, request } = tokens.only();
    await service.deliver(key, { ...request });
    const token = mailer.tokenFor('bob@example.com', 'email_verification')!;
    clock.advance(29 * 60_000);
    await service.consume(token, 'email_verification');
    expect(tokens.consumed).toEqual([
      {
        hash: tokens.minted[0].hash,
        kind: 'email_verification',
        now: new Date('2026-05-15T12:29:00.000Z'),
      },
    ]);
    expect(tokens.minted[0].token.passwordGeneration).toBe(0);
  });
});
