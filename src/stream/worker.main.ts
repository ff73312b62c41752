import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { exitOnStartupFailure } from '../common/startup-error.js';
import { loadConfig } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';
import { createRootLogger, nestLoggerFor } from '../logging/logger.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { checkMigrationsAtStart } from '../migrations/startup-check.js';
import { WebhookDispatcher } from '../events/webhook-dispatcher.js';
import { StreamPoller } from './stream-poller.js';
import { startWorkerMetricsServer } from './worker-metrics.server.js';

/**
 * `npm run worker`: the stream worker as a process of its own (the `worker` service of
 * docker-compose.yml): the app's DI context without HTTP, polling the table's stream until
 * SIGTERM or SIGINT, then finishing the batch in hand and its checkpoint before it exits.
 */
async function runWorker(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const loaded = loadConfig();
  // This process starts the poller itself below, whatever STREAM_WORKER says for the API's processes.
  const config = { ...loaded, streamWorker: { ...loaded.streamWorker, mode: 'off' as const } };
  const rootLogger = createRootLogger(config);
  Logger.overrideLogger(nestLoggerFor(rootLogger));
  const logger = new Logger('Worker');
  // Like a command, it shares the engine of an API running on the same embedded data.
  const database = await prepareDatabase(config, undefined, 'script');
  // Refused like the API while a migration this version needs is pending: an offline one (0004-0008)
  // rewrites what the handlers write, so a worker running beside it would undo it (review 11, M2).
  await checkMigrationsAtStart(database.config, logger).catch(async (error: unknown) => {
    await database.stop();
    throw error;
  });
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(database.config), {
    logger: nestLoggerFor(rootLogger),
  });
  const poller = context.get(StreamPoller);
  poller.start();
  // Webhook deliveries are sent beside the stream, never inside a shard's batch (docs/streams.md).
  context.get(WebhookDispatcher).start();
  const metricsServer =
    config.streamWorker.metricsPort > 0
      ? await startWorkerMetricsServer({
          port: config.streamWorker.metricsPort,
          host: config.host,
          metricsToken: config.metricsToken,
          metrics: context.get(AppMetrics),
          status: () => poller.status(),
        })
      : undefined;
  if (metricsServer) logger.log(`worker metrics on ${config.host}:${config.streamWorker.metricsPort}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: finishing the batch in hand`);
    metricsServer?.close();
    await context.close().catch((error: unknown) => logger.error(error)); // stops the poller first
    await database.stop().catch((error: unknown) => logger.error(error));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

runWorker().catch(exitOnStartupFailure);
