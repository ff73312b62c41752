import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { MAILER, type Mailer } from '../../mail/mailer.js';
import { renderMail } from '../../mail/templates.js';
import { type ActionToken, type ActionTokenKind, ActionTokensRepository } from './action-tokens.repository.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The front end's pages (under PUBLIC_URL) that take the `token` query parameter; see the README. */
const PAGES: Record<ActionTokenKind, string> = {
  password_reset: '/reset-password',
  email_verification: '/verify-email',
};

/**
 * Single-use emailed links (password reset, email verification): a random token goes into
 * the link, only its SHA-256 is stored, with an expiry and a `ttl`.
 */
@Injectable()
export class ActionLinksService {
  constructor(
    private readonly tokens: ActionTokensRepository,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async send(kind: ActionTokenKind, user: { id: string; email: string }): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await this.tokens.create(sha256(token), {
      kind,
      userId: user.id,
      email: user.email,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.config.auth.actionTokenTtlSeconds * 1000).toISOString(),
    });
    const link = `${this.config.publicUrl}${PAGES[kind]}?token=${token}`;
    await this.mailer.send(renderMail({ kind, to: user.email, link }));
  }

  /** Uses up a token: what it held, or undefined when it is unknown, used, expired or of another kind. */
  consume(token: string, kind: ActionTokenKind): Promise<ActionToken | undefined> {
    return this.tokens.consume(sha256(token), kind);
  }
}
