import 'reflect-metadata';
import { type INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { loadConfig } from '../config/app-config.js';
import { WebhookDispatcher } from '../events/webhook-dispatcher.js';
import { checkMigrationsAtStart } from '../migrations/startup-check.js';
import { StreamProcessor } from './stream-processor.js';
import { createStreamHandler } from './lambda-batch.js';
import { LambdaDeadLetters } from './lambda-dead-letters.js';

export { createStreamHandler, type DynamoDBBatchResponse, type DynamoDBStreamEvent } from './lambda-batch.js';

let context: Promise<INestApplicationContext> | undefined;

/**
 * The Nest context, built once per container and kept between invocations. The configuration
 * comes from the function's environment (production rules: `JWT_SECRET`, `PUBLIC_URL`... as for
 * the API; `STREAM_WORKER` stays `off`, Lambda is the host here).
 *
 * Refused like the API and `npm run worker` while a migration this version needs is pending: an
 * offline one (0004-0007) rewrites what the handlers write, so handlers running beside it would
 * undo it (review 11, M2). The invocation then fails as a whole and Lambda retries the batch.
 */
function appContext(): Promise<INestApplicationContext> {
  if (!context) {
    const config = loadConfig();
    context = checkMigrationsAtStart(config, new Logger('StreamLambda')).then(() =>
      NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn'] }),
    );
    // A failed start is not cached: the next invocation tries again.
    context.catch(() => (context = undefined));
  }
  return context;
}

/** The Lambda entry point: `dist/stream/lambda.handler`. */
export const handler = createStreamHandler(
  async () => (await appContext()).get(StreamProcessor),
  async () => (await appContext()).get(LambdaDeadLetters),
);

/**
 * The scheduled entry point of webhook deliveries (an EventBridge schedule, e.g. every minute):
 * `dist/stream/lambda.deliverWebhooks`. On Lambda nothing else sends the due deliveries.
 */
export const deliverWebhooks = async (): Promise<{ changed: number }> => ({
  changed: await (await appContext()).get(WebhookDispatcher).dispatchDue(),
});
