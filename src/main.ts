import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { createApp } from './app.setup.js';
import { listen, listeningLine } from './http/listen.js';
import { exitOnStartupFailure } from './common/startup-error.js';
import { loadConfig } from './config/app-config.js';
import { prepareDatabase } from './dynamo/database-bootstrap.js';
import { createRootLogger, nestLoggerFor } from './logging/logger.js';
import { checkMigrationsAtStart } from './migrations/startup-check.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const rootLogger = createRootLogger(config);
  // Start-up lines (the embedded engine, the table) in the same format as the app's.
  Logger.overrideLogger(nestLoggerFor(rootLogger));
  const database = await prepareDatabase(config, undefined, 'app');
  await checkMigrationsAtStart(database.config, logger).catch(async (error: unknown) => {
    await database.stop();
    throw error;
  });
  const app = await createApp(database.config, { logger: rootLogger });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received, shutting down`);
    await app.close().catch((error: unknown) => logger.error(error));
    await database.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await listen(app, database.config.port, database.config.host);
  } catch (error) {
    await app.close().catch(() => undefined);
    await database.stop();
    throw error;
  }
  const base = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  logger.log(listeningLine(base, database.config.docs));
}

bootstrap().catch(exitOnStartupFailure);
