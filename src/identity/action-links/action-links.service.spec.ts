import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../../common/clock/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { ItemKey } from '../../dynamo/keys.js';
import { InMemoryMailer } from '../../mail/in-memory.mailer.js';
import { MAILER, type MailMessage } from '../../mail/mailer.js';
import { MailNotSent } from '../../mail/mail-errors.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import { ActionLinksService } from './action-links.service.js';
import type { ActionToken, ActionTokenKind, MailRequest, MintResult } from './action-tokens.repository.js';
import { ActionTokensRepository } from './action-tokens.repository.js';

/** Records what the service stores, mints and consumes, in place of DynamoDB (as its conditions make them). */
class FakeTokens {
  readonly requests = new Map<string, { key: ItemKey; request: MailRequest; mintedAt?: Date }>();
  readonly minted: { hash: string; token: ActionToken }[] = [];
  /** The token items still there (used up by `consume`, deleted by `settle`). */
  readonly live = new Map<string, ActionToken>();
  readonly consumed: { hash: string; kind: ActionTokenKind; now: Date }[] = [];

  requestMail(key: ItemKey, request: MailRequest): Promise<void> {
    this.requests.set(`${key.PK}/${key.SK}`, { key, request });
    return Promise.resolve();
  }

  /** Like the transaction: only while the request is there and not minted, which it marks. */
  mint(hash: string, token: ActionToken, request: ItemKey, at: Date): Promise<MintResult> {
    const pending = this.requests.get(`${request.PK}/${request.SK}`);
    if (!pending) return Promise.resolve('gone');
    if (pending.mintedAt) return Promise.resolve('minted_before');
    pending.mintedAt = at;
    this.minted.push({ hash, token });
    this.live.set(hash, token);
    return Promise.resolve('minted');
  }

  find(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    const token = this.live.get(hash);
    return Promise.resolve(token?.kind === kind && token.expiresAt > now.toISOString() ? token : undefined);
  }

  settle(request: ItemKey, unsentToken?: string): Promise<void> {
    this.requests.delete(`${request.PK}/${request.SK}`);
    if (unsentToken !== undefined) this.live.delete(unsentToken);
    return Promise.resolve();
  }

  consume(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    this.consumed.push({ hash, kind, now });
    const token = this.live.get(hash);
    this.live.delete(hash);
    return Promise.resolve(token);
  }

  only(): { key: ItemKey; request: MailRequest } {
    expect(this.requests.size).toBe(1);
    return [...this.requests.values()][0];
  }
}

/** Fails its first sends with the given errors (a mail server's bad minute), then keeps what it is sent. */
class MailerFailingFirst extends InMemoryMailer {
  /** Every message it was asked to send, failed ones included. */
  readonly attempts: MailMessage[] = [];

  constructor(private readonly failures: Error[]) {
    super();
  }

  override send(message: MailMessage): Promise<void> {
    this.attempts.push(message);
    const failure = this.failures.shift();
    return failure ? Promise.reject(failure) : super.send(message);
  }
}

/** What nodemailer throws: a refused connection, greylisting at RCPT TO, a closed mailbox. */
const REFUSED = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const GREYLISTED = Object.assign(new Error('450 4.2.0 greylisted'), { responseCode: 450, command: 'RCPT TO' });
const CLOSED = Object.assign(new Error('550 5.1.1 no such mailbox'), { responseCode: 550, command: 'RCPT TO' });

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
            // Links must outlive the per-address windows (review 23 L-4): those are off here.
            PASSWORD_RESET_RATE_MAX_PER_EMAIL: '0',
            VERIFICATION_RATE_MAX_PER_EMAIL: '0',
            EMAIL_CHANGE_RATE_MAX_PER_EMAIL: '0',
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

  it("delivery mints the link with the request's dates and binding, stores its hash, mails it, deletes the request; a replay mints and sends nothing", async () => {
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
    expect(tokens.requests.size).toBe(0); // sent: the request is gone

    expect(await service.deliver(key, { ...request })).toBe('already_sent');
    expect(tokens.minted).toHaveLength(1);
    expect(mailer.outbox).toHaveLength(1);
    expect(await deliveries()).toEqual(['password_reset sent 1']);
  });

  it('two requests of one user get two links: the token is derived from the request, not the user', async () => {
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const first = tokens.only();
    await service.deliver(first.key, { ...first.request });
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const second = tokens.only();
    await service.deliver(second.key, { ...second.request });
    expect(new Set(mailer.outbox.map((m) => m.link)).size).toBe(2);
    expect(new Set(tokens.minted.map((m) => m.hash)).size).toBe(2);
  });

  it('a request past its link lifetime when the processor reaches it is neither minted nor sent', async () => {
    await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
    const { key, request } = tokens.only();
    clock.advance(1800 * 1000);
    expect(await service.deliver(key, { ...request })).toBe('expired');
    expect(tokens.minted).toEqual([]);
    expect(mailer.outbox).toEqual([]);
  });

  describe('a send that fails (session 22: retried like a security notice)', () => {
    async function failingFirst(...failures: Error[]) {
      const failing = new MailerFailingFirst(failures);
      await build(failing);
      await service.requestLink('email_verification', { id: 'u2', email: 'bob@example.com' });
      return { failing, ...tokens.only() };
    }

    it('transiently (connection refused): the record fails as transient; the retry mails the same link, minted once, and it works', async () => {
      const { failing, key, request } = await failingFirst(REFUSED);
      const failure = await service.deliver(key, { ...request }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MailNotSent);
      expect(failure).toMatchObject({ transient: true, deferral: false });
      expect(tokens.requests.size).toBe(1); // kept for the retry
      clock.advance(30_000); // the shard's backoff
      expect(await service.deliver(key, { ...request })).toBe('sent');

      expect(tokens.minted).toHaveLength(1);
      expect(failing.attempts).toHaveLength(2);
      expect(failing.attempts[1].link).toBe(failing.attempts[0].link);
      expect(failing.outbox).toHaveLength(1);
      // A replay after the mail went out sends nothing.
      expect(await service.deliver(key, { ...request })).toBe('already_sent');
      expect(failing.outbox).toHaveLength(1);
      expect(await deliveries()).toEqual(['email_verification failed 1', 'email_verification sent 1']);
      // The link mailed is the one minted, and it works.
      const token = failing.tokenFor('bob@example.com', 'email_verification')!;
      expect(await service.consume(token, 'email_verification')).toEqual(tokens.minted[0].token);
    });

    it('deferred at RCPT TO (greylisting): transient and a deferral (the shorter cap); the retry mails the same link', async () => {
      const { failing, key, request } = await failingFirst(GREYLISTED, GREYLISTED);
      for (let attempt = 0; attempt < 2; attempt++)
        await expect(service.deliver(key, { ...request })).rejects.toMatchObject({
          name: 'MailNotSent',
          transient: true,
          deferral: true,
        });
      expect(await service.deliver(key, { ...request })).toBe('sent');
      expect(tokens.minted).toHaveLength(1);
      expect(new Set(failing.attempts.map((m) => m.link)).size).toBe(1);
      expect(failing.outbox).toHaveLength(1);
    });

    it('for good (SMTP 550): logged and counted as refused, not retried; the request and the unsent token are deleted', async () => {
      const { failing, key, request } = await failingFirst(CLOSED);
      expect(await service.deliver(key, { ...request })).toBe('refused');
      expect(tokens.requests.size).toBe(0);
      expect(tokens.live.size).toBe(0);
      expect(await service.deliver(key, { ...request })).toBe('already_sent');
      expect(failing.attempts).toHaveLength(1);
      expect(failing.outbox).toEqual([]);
      expect(await deliveries()).toEqual(['email_verification refused 1']);
    });

    it('otherwise (an unknown error): the record fails, counted towards the dead letter (not transient)', async () => {
      const { key, request } = await failingFirst(new Error('bad credentials'));
      await expect(service.deliver(key, { ...request })).rejects.toMatchObject({ transient: false, deferral: false });
      expect(await service.deliver(key, { ...request })).toBe('sent');
      expect(tokens.minted).toHaveLength(1);
    });

    it('a retry that finds the link used since (the mail arrived, its answer lost) sends nothing and ends the request', async () => {
      const { failing, key, request } = await failingFirst(REFUSED);
      await expect(service.deliver(key, { ...request })).rejects.toBeInstanceOf(MailNotSent);
      const link = new URL(failing.attempts[0].link!);
      expect(await service.consume(link.searchParams.get('token')!, 'email_verification')).toBeDefined();
      expect(await service.deliver(key, { ...request })).toBe('already_used');
      expect(tokens.live.size).toBe(0); // not put back
      expect(tokens.requests.size).toBe(0);
      expect(failing.outbox).toEqual([]);
    });

    it("a retry past the link's lifetime (counted from the request) sends nothing", async () => {
      const { failing, key, request } = await failingFirst(REFUSED);
      await expect(service.deliver(key, { ...request })).rejects.toBeInstanceOf(MailNotSent);
      expect(tokens.minted[0].token.expiresAt).toBe(request.expiresAt);
      clock.advance(1800 * 1000);
      expect(await service.deliver(key, { ...request })).toBe('expired');
      expect(failing.outbox).toEqual([]);
    });
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
