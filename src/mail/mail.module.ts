import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggingMailer } from './logging.mailer.js';
import { MAILER, type Mailer } from './mailer.js';

@Global()
@Module({})
export class MailModule {
  /** Uses the given mailer (tests pass an `InMemoryMailer`), or the logging one. */
  static forRoot(mailer?: Mailer): DynamicModule {
    return {
      module: MailModule,
      providers: [{ provide: MAILER, useValue: mailer ?? new LoggingMailer() }],
      exports: [MAILER],
    };
  }
}
