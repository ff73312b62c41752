import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import type { AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/config.module.js';
import { DynamoModule } from './dynamo/dynamo.module.js';
import { HealthModule } from './health/health.module.js';
import { MailModule } from './mail/mail.module.js';
import type { Mailer } from './mail/mailer.js';
import { UsersModule } from './users/users.module.js';
import { SlugsModule } from './common/slugs/slugs.module.js';
import { TaxonomyModule } from './taxonomy/taxonomy.module.js';
import { PostsModule } from './posts/posts.module.js';
import { CommentsModule } from './comments/comments.module.js';

/** The root module, built from an already validated configuration. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: { mailer?: Mailer } = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        DynamoModule,
        MailModule.forRoot(options.mailer),
        HealthModule,
        SlugsModule,
        AuthModule,
        UsersModule,
        TaxonomyModule,
        PostsModule,
        CommentsModule,
      ],
    };
  }
}
