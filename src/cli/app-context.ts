import { existsSync } from 'node:fs';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { type AppConfig, loadConfig } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';

/**
 * Runs a command-line task inside the app's DI context, against the configured DynamoDB
 * (starting the embedded engine when that is the configuration), and always cleans up. `config`
 * replaces the environment (the fixture generator runs on a throw-away engine of its own).
 */
export async function runWithAppContext(
  task: (context: INestApplicationContext) => Promise<void>,
  options: { config?: AppConfig } = {},
): Promise<void> {
  if (!options.config && existsSync('.env')) process.loadEnvFile('.env');
  const database = await prepareDatabase(options.config ?? loadConfig());
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(database.config), { logger: ['error'] });
  try {
    await task(context);
  } finally {
    await context.close();
    await database.stop();
  }
}

/** Prints an error for a person and exits non-zero (2 for a wrong command line, by convention). */
export function failCommand(error: unknown, exitCode = 1): never {
  console.error(error instanceof Error ? error.message : error);
  process.exit(exitCode);
}
