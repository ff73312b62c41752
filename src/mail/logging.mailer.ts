import { Logger } from '@nestjs/common';
import type { Mailer, MailMessage } from './mailer.js';

/** The default mailer: writes the message and its link to the log (development). */
export class LoggingMailer implements Mailer {
  private readonly logger = new Logger('Mailer');

  send(message: MailMessage): Promise<void> {
    this.logger.log(`To ${message.to}: ${message.subject} -> ${message.link}`);
    return Promise.resolve();
  }
}
