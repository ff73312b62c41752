import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { FileMailer } from './file.mailer.js';
import { LoggingMailer } from './logging.mailer.js';
import { MAILER, type Mailer } from './mailer.js';
import { NoticesSentRepository } from './notices-sent.repository.js';
import { SecurityNotices } from './security-notices.js';
import { SesMailer } from './ses.mailer.js';
import { SmtpMailer } from './smtp.mailer.js';

/** The mailer `MAIL_TRANSPORT` names (the configuration has already checked its settings). */
export function createMailer(config: AppConfig): Mailer {
  const { mail } = config;
  switch (mail.transport) {
    case 'smtp':
      return new SmtpMailer(mail.smtpUrl!, mail.from);
    case 'ses':
      return SesMailer.create(config.dynamo.region, mail.from);
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
        { provide: MAILER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => mailer ?? createMailer(config) },
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
