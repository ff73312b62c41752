import { Logger } from '@nestjs/common';
import type { Mailer, MailMessage } from './mailer.js';

/**
 * Delivers nothing: notes that a message was sent, never its link or text, which carry a token
 * that would let whoever reads the log take over the account. Production refuses it.
 */
export class LoggingMailer implements Mailer {
  private readonly logger = new Logger('Mailer');

  send(message: MailMessage): Promise<void> {
    this.logger.log(`Not delivered (MAIL_TRANSPORT=log): "${message.subject}" (${message.kind}) to ${message.to}`);
    return Promise.resolve();
  }
}
