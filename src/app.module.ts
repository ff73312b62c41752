import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { ClockModule } from './common/clock/clock.module.js';
import { AuditModule } from './logging/audit.js';
import type { Clock } from './common/clock/clock.js';
import type { IdGenerator } from './common/ids.js';
import type { AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/config.module.js';
import { DynamoModule } from './dynamo/dynamo.module.js';
import { HealthModule } from './health/health.module.js';
import { MailModule } from './mail/mail.module.js';
import type { Mailer } from './mail/mailer.js';
import { UsersModule } from './users/users.module.js';
import { SlugsModule } from './slugs/slugs.module.js';
import { TaxonomyModule } from './taxonomy/taxonomy.module.js';
import { PostsModule } from './posts/posts.module.js';
import { CommentsModule } from './comments/comments.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { StreamModule } from './stream/stream.module.js';
import { FollowsModule } from './follows/follows.module.js';
import { FeedModule } from './feed/feed.module.js';
import { ConduitModule } from './conduit/conduit.module.js';
import { WorkflowsModule } from './workflows/workflows.module.js';

export interface AppModuleOptions {
  mailer?: Mailer;
  /** The app's clock; the system's when absent (tests pass a `SettableClock`). */
  clock?: Clock;
  /** The app's id generator; random ids when absent. */
  ids?: IdGenerator;
}

/** The root module, built from an already validated configuration. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        MetricsModule,
        ClockModule.forRoot(options.clock, options.ids),
        AuditModule,
        DynamoModule,
        MailModule.forRoot(options.mailer),
        HealthModule,
        SlugsModule,
        AuthModule,
        UsersModule,
        TaxonomyModule,
        PostsModule,
        CommentsModule,
        StreamModule,
        FollowsModule,
        FeedModule,
        WorkflowsModule,
        // The RealWorld API under /api (docs/conduit.md): absent, so 404, when CONDUIT_API=off.
        ...(config.conduitApi ? [ConduitModule] : []),
      ],
    };
  }
}
