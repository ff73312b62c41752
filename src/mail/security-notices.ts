import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { MAILER, type Mailer } from './mailer.js';
import { type MailRequest, renderMail } from './templates.js';

/**
 * Security notices: "your password was changed" to the account's address, "your email was
 * changed" to the old address (the one an attacker who took the account would not read). They
 * go out after the answer, so a slow mail server never holds a request, and a failure is
 * logged without the mail's content; shutdown waits for those still being sent.
 */
@Injectable()
export class SecurityNotices implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SecurityNotices');
  private readonly pending = new Set<Promise<void>>();

  constructor(@Inject(MAILER) private readonly mailer: Mailer) {}

  passwordChanged(to: string): void {
    this.dispatch({ kind: 'password_changed', to });
  }

  emailChanged(oldEmail: string, newEmail: string): void {
    this.dispatch({ kind: 'email_changed', to: oldEmail, newEmail });
  }

  /** Resolves once every notice started so far has been sent (or has failed). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.idle();
  }

  private dispatch(request: MailRequest): void {
    const job = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.mailer.send(renderMail(request)))
      .catch((error: unknown) =>
        this.logger.warn(
          `A ${request.kind} notice could not be sent: ${error instanceof Error ? error.name : 'error'}`,
        ),
      )
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }
}
