import { createHash, randomBytes } from 'node:crypto';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { DynamoUsage, runWithUsage } from '../../dynamo/request-accounting.js';
import { MAILER, type Mailer } from '../../mail/mailer.js';
import { renderMail } from '../../mail/templates.js';
import { type ActionToken, type ActionTokenKind, ActionTokensRepository } from './action-tokens.repository.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The front end's pages (under PUBLIC_URL) that take the `token` query parameter; see the README. */
const PAGES: Record<ActionTokenKind, string> = {
  password_reset: '/reset-password',
  email_verification: '/verify-email',
};

/** Who a link is for, and the state it is bound to. */
export interface LinkRecipient {
  id: string;
  email: string;
  /** The password generation a reset link is bound to (absent on accounts that never changed it). */
  passwordGeneration?: number;
}

/** An error's name and code only: a mail transport's message may quote the mail, link included. */
const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}${'code' in error ? ` (${String(error.code)})` : ''}` : typeof error;

/**
 * Single-use emailed links (password reset, email verification): a random token goes into
 * the link, only its SHA-256 is stored, with an expiry, a `ttl`, and the state it is bound to
 * (user, email, password generation). Neither the token nor the link is ever logged.
 */
@Injectable()
export class ActionLinksService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ActionLinks');
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly tokens: ActionTokensRepository,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async send(kind: ActionTokenKind, user: LinkRecipient): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.tokens.create(sha256(token), {
      kind,
      userId: user.id,
      email: user.email,
      passwordGeneration: user.passwordGeneration ?? 0,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.config.auth.actionTokenTtlSeconds * 1000).toISOString(),
    });
    const link = `${this.config.publicUrl}${PAGES[kind]}?token=${token}`;
    await this.mailer.send(renderMail({ kind, to: user.email, link }));
  }

  /**
   * Creates the link and sends the mail after the request has answered: the answer then takes
   * the same time and the same DynamoDB calls whether or not a mail goes out (no enumeration
   * by timing), and a slow mail server never holds a request. The work runs outside the
   * request's DynamoDB accounting, and shutdown waits for it.
   */
  sendInBackground(kind: ActionTokenKind, user: LinkRecipient): void {
    const job = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => runWithUsage(new DynamoUsage(), () => this.send(kind, user)))
      .catch((error: unknown) => this.logger.warn(`A ${kind} mail could not be sent: ${describe(error)}`))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Resolves once every mail started so far has been sent (or has failed). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Lets mails still being sent finish before the DynamoDB client closes. */
  beforeApplicationShutdown(): Promise<void> {
    return this.idle();
  }

  /** Uses up a token: what it held, or undefined when it is unknown, used, expired or of another kind. */
  consume(token: string, kind: ActionTokenKind): Promise<ActionToken | undefined> {
    return this.tokens.consume(sha256(token), kind, this.clock.now());
  }
}
