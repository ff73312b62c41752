import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { CLOCK, SettableClock } from '../../common/clock/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import { ActionLinksService } from '../../identity/action-links/action-links.service.js';
import { type ActionToken, ActionTokensRepository } from '../../identity/action-links/action-tokens.repository.js';
import { InMemoryMailer } from '../../mail/in-memory.mailer.js';
import { MAILER, type MailMessage } from '../../mail/mailer.js';
import { NoticesSentRepository } from '../../mail/notices-sent.repository.js';
import { MarkerStore } from '../../mail/notices-sent.testing.js';
import { NoticeNotSent, SecurityNotices } from '../../mail/security-notices.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import { UsersRepository } from '../../users/users.repository.js';
import { TransactionalMailHandler } from './transactional-mail.handler.js';

/** Fails its first `failures` sends (a mail server outage), then keeps what it is sent. */
class MailerFailingFirst extends InMemoryMailer {
  constructor(private failures: number) {
    super();
  }

  override send(message: MailMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('mail server down'));
    }
    return super.send(message);
  }
}

/** Token items by hash, as the conditional Put of ActionTokensRepository.putOnce stores them. */
class FakeTokens {
  readonly items = new Map<string, ActionToken>();
  putOnce(hash: string, token: ActionToken): Promise<boolean> {
    if (this.items.has(hash)) return Promise.resolve(false);
    this.items.set(hash, token);
    return Promise.resolve(true);
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const EXPIRES = '2026-12-01T08:00:00.000Z';
/** The record of an email change from ada@ that reserved it for its undo link (email generation 3). */
const CHANGE: ItemChange = {
  event: 'MODIFY',
  key: { PK: 'USER#u1', SK: 'USER' },
  oldImage: { email: 'ada@example.com', emailVerified: true, version: 7, emailGeneration: 2 },
  newImage: {
    email: 'new@example.com',
    version: 8,
    emailGeneration: 3,
    emailReverts: [{ generation: 3, email: 'ada@example.com', expiresAt: EXPIRES }],
  },
  sequenceNumber: '1',
  at: new Date('2026-11-27T08:00:00Z'),
};

// Review 18b L4: the `email_changed` notice carries the change's only undo link; a mail server
// outage used to lose it (the marker stayed claimed, the send was never retried).
describe('an email change notice whose mail fails once (the mailer at its injection token)', () => {
  async function handlerWith(mailer: InMemoryMailer) {
    const markers = new MarkerStore();
    const tokens = new FakeTokens();
    const moduleRef = await Test.createTestingModule({
      providers: [
        TransactionalMailHandler,
        ActionLinksService,
        SecurityNotices,
        { provide: MAILER, useValue: mailer },
        { provide: NoticesSentRepository, useValue: markers },
        { provide: ActionTokensRepository, useValue: tokens },
        {
          provide: UsersRepository,
          useValue: { findById: () => Promise.resolve({ id: 'u1' }), pendingRevertCheck: () => [] },
        },
        { provide: CLOCK, useValue: new SettableClock().set('2026-11-27T08:00:00Z') },
        { provide: AppMetrics, useValue: new AppMetrics() },
        { provide: APP_CONFIG, useValue: loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://blog.example' }) },
      ],
    }).compile();
    return { handler: moduleRef.get(TransactionalMailHandler), markers, tokens };
  }

  it('fails the record and gives the marker back; the retry mails the link, the same one the first try minted', async () => {
    const mailer = new MailerFailingFirst(1);
    const { handler, markers, tokens } = await handlerWith(mailer);

    await expect(handler.handle(CHANGE, 'u1')).rejects.toThrow(NoticeNotSent);
    expect(mailer.outbox).toEqual([]);
    expect(markers.used.size).toBe(0);
    expect(tokens.items.size).toBe(1);

    await handler.handle(CHANGE, 'u1'); // the stream's retry of the record
    const token = mailer.tokenFor('ada@example.com', 'email_changed');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // One token item, and it is the mailed link's: the retry minted no second link.
    expect([...tokens.items.keys()]).toEqual([sha256(token!)]);
    expect(tokens.items.get(sha256(token!))).toMatchObject({
      kind: 'email_change_revert',
      userId: 'u1',
      email: 'ada@example.com',
      emailGeneration: 3,
      expiresAt: EXPIRES,
    });
    expect([...markers.used]).toEqual(['u1/email_changed#8']);

    // A replay of the record once it was sent mails nothing more.
    await handler.handle(CHANGE, 'u1');
    expect(mailer.outbox).toHaveLength(1);
  });

  it('a link is bound to its user and generation: another change or another account gets another token', async () => {
    const { handler } = await handlerWith(new InMemoryMailer());
    const links: ActionLinksService = handler['links'];
    const base = { userId: 'u1', email: 'ada@example.com', emailGeneration: 3, expiresAt: EXPIRES };
    const pending = () => [];
    const first = await links.mintRevertLink(base, pending);
    expect(first).toBeDefined();
    expect(await links.mintRevertLink(base, pending)).toBe(first);
    expect(await links.mintRevertLink({ ...base, emailGeneration: 4 }, pending)).not.toBe(first);
    expect(await links.mintRevertLink({ ...base, userId: 'u2' }, pending)).not.toBe(first);
  });
});
