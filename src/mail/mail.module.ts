import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { FileMailer } from './file.mailer.js';
import { LoggingMailer } from './logging.mailer.js';
import { MAILER, type Mailer } from './mailer.js';
import { NoticesSentRepository } from './notices-sent.repository.js';
import { SecurityNotices } from './security-notices.js';

/**
 * The mailer `MAIL_TRANSPORT` names (the configuration has already checked its settings). The SMTP
 * and SES transports are imported only when configured: their libraries (nodemailer, the SES
 * client) are a large share of the app's start-up module loading, for a transport most processes
 * (tests, `npm start`, the CLI) never use.
 */
export async function createMailer(config: AppConfig): Promise<Mailer> {
  const { mail } = config;
  switch (mail.transport) {
    case 'smtp': {
      const { SmtpMailer } = await import('./smtp.mailer.js');
      return new SmtpMailer(mail.smtpUrl!, mail.from);
    }
    case 'ses': {
      const { SesMailer } = await import('./ses.mailer.js');
      return SesMailer.create(config.dynamo.region, mail.from);
    }
    case 'file':
      return new FileMailer(mail.dir, mail.from);
    case 'log':
      return new LoggingMailer();
  }
}

@Global()
@Module({})
export class MailModule implements OnApplicationShutdown {
  constructor(@Inject(MAILER) private readonly mailer: Mailer) {}

  /** Uses the given mailer (tests pass an `InMemoryMailer`), or the configured transport. */
  static forRoot(mailer?: Mailer): DynamicModule {
    return {
      module: MailModule,
      providers: [
        {
          provide: MAILER,
          inject: [APP_CONFIG],
          useFactory: async (config: AppConfig) => mailer ?? (await createMailer(config)),
        },
        NoticesSentRepository,
        SecurityNotices,
      ],
      exports: [MAILER, SecurityNotices],
    };
  }

  onApplicationShutdown(): void {
    (this.mailer as { close?: () => void }).close?.();
  }
}
