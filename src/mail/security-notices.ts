import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { OUTLIVES_REPLAY_TTL_SECONDS } from '../dynamo/replay-window.js';
import type { Item } from '../dynamo/stream-record.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { MAILER, type Mailer } from './mailer.js';
import { NoticesSentRepository } from './notices-sent.repository.js';
import { describeMailError, type MailRequest, renderMail } from './templates.js';

/**
 * How long a notice's marker is kept: past the last replay of its record. The stream keeps a
 * record 24 hours, but a dead-lettered one can be replayed for 30 days: with the 48 hours this
 * was, a replay on day 3 found no marker (TTL had deleted it) and mailed the notice again.
 */
const MARKER_LIFETIME_MS = OUTLIVES_REPLAY_TTL_SECONDS * 1000;

interface Notice {
  /** Unique per change: the kind and the generation or version the change produced. */
  marker: string;
  mail: MailRequest;
}

const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);

/**
 * The notices a change of a user item calls for: "your password was changed" to the account's
 * address when its password generation rose (a change, a reset, the admin bootstrap's takeover),
 * "your email was changed" to the old address (the one an attacker who took the account would
 * not read) when the email changed.
 */
export function noticesOf(before: Item | undefined, after: Item | undefined): Notice[] {
  if (!before || !after || typeof after.email !== 'string') return [];
  const notices: Notice[] = [];
  const generation = numberOf(after.passwordGeneration);
  if (generation > numberOf(before.passwordGeneration)) {
    notices.push({ marker: `password_changed#${generation}`, mail: { kind: 'password_changed', to: after.email } });
  }
  if (typeof before.email === 'string' && before.email !== after.email && typeof after.version === 'number') {
    notices.push({
      marker: `email_changed#${after.version}`,
      mail: { kind: 'email_changed', to: before.email, newEmail: after.email },
    });
  }
  return notices;
}

/**
 * Security notices, sent by the stream processor from the user item's own change record: the
 * request writes nothing for them. Each is claimed with a marker item before it is sent, so a
 * replayed record sends nothing more (at most once: a crash or a mail failure after the claim
 * loses that notice). A failure is logged without the mail's content.
 */
@Injectable()
export class SecurityNotices {
  private readonly logger = new Logger('SecurityNotices');

  constructor(
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly sent: NoticesSentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: AppMetrics,
  ) {}

  /** Sends what a MODIFY of the user item calls for; returns the kinds it sent. */
  async fromUserChange(userId: string, before: Item | undefined, after: Item | undefined): Promise<string[]> {
    const sent: string[] = [];
    for (const notice of noticesOf(before, after)) {
      const now = this.clock.now();
      if (!(await this.sent.claim(userId, notice.marker, now, new Date(now.getTime() + MARKER_LIFETIME_MS)))) continue;
      try {
        await this.mailer.send(renderMail(notice.mail));
        sent.push(notice.mail.kind);
        this.metrics.mailDeliveries().inc({ kind: notice.mail.kind, outcome: 'sent' });
      } catch (error) {
        this.logger.warn(`A ${notice.mail.kind} notice could not be sent: ${describeMailError(error)}`);
        this.metrics.mailDeliveries().inc({ kind: notice.mail.kind, outcome: 'failed' });
      }
    }
    return sent;
  }
}
