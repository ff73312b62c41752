import { existsSync } from 'node:fs';
import { type INestApplicationContext, Logger } from '@nestjs/common';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AppConfig, loadConfig, type LoadConfigOptions } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';
import { createDynamoClient } from '../dynamo/dynamo-client.factory.js';
import { createRootLogger, nestLoggerFor } from '../logging/logger.js';

export interface CommandDatabase {
  config: AppConfig;
  /** A low-level client on the configured DynamoDB (closed at the end). */
  client: DynamoDBClient;
  tableName: string;
  /**
   * The app's DI context on the same database, created on first call. Commands that rewrite the
   * table (import, migrate) ask for it only when they need a service, because creating it runs
   * the start-up hooks (the ADMIN_EMAIL bootstrap writes a user).
   */
  appContext(): Promise<INestApplicationContext>;
}

/**
 * A command never hosts the stream worker or the webhook dispatcher, whatever `STREAM_WORKER` says
 * (`inline` is the development default): with `npm start` running, a second poller on the table
 * would break "one poller per table" (docs/streams.md), and `db:stream-replay` drives the processor
 * itself (review 3, #6).
 */
function withoutStreamWorker(config: AppConfig): AppConfig {
  return { ...config, streamWorker: { ...config.streamWorker, mode: 'off' } };
}

/**
 * The app's DI context, its modules loaded on first use: loading NestJS and every module of the app
 * costs about 2 s of CPU, which the commands that need no service (`db:migrate`, `db:export`, a
 * wrong command line) no longer pay at each start.
 */
async function createAppContext(config: AppConfig): Promise<INestApplicationContext> {
  const [{ NestFactory }, { AppModule }] = await Promise.all([import('@nestjs/core'), import('../app.module.js')]);
  return NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error'] });
}

/**
 * A command's log lines (the embedded engine, the table, a service's warning or error) are the
 * server's: pino JSON with `level`, `time`, `service` and `context` (coloured by pino-pretty in
 * development on a terminal, as the server's are), on stderr. Its report (what it found and did)
 * is plain text on stdout, for the person who ran it. docs/operations.md, "Command output".
 */
export function useCommandLogger(config: AppConfig): void {
  Logger.overrideLogger(nestLoggerFor(createRootLogger(config, { stderr: true })));
}

export interface CommandOptions {
  /** Replaces the environment (the fixture generator runs on a throw-away engine of its own). */
  config?: AppConfig;
  /**
   * `table`: a tool that only reads or writes the table's items (`db:migrate`, `db:export`,
   * `db:import`, `db:check-counts`), so production asks it for none of what serving needs
   * (`JWT_SECRET`, `MAIL_*`, `PUBLIC_URL`): only the database's settings (docs/operations.md,
   * "What the table tools need"). A value that is set is still checked.
   */
  purpose?: LoadConfigOptions['purpose'];
}

/** The options of the tools that only work on the table's items (see `CommandOptions.purpose`). */
export const TABLE_TOOL: CommandOptions = { purpose: 'table' };

/**
 * Runs a command-line task against the configured DynamoDB (starting the embedded engine when
 * that is the configuration), and always cleans up.
 */
export async function runWithDatabase(
  task: (database: CommandDatabase) => Promise<void>,
  options: CommandOptions = {},
): Promise<void> {
  if (!options.config && existsSync('.env')) process.loadEnvFile('.env');
  const config = options.config ?? loadConfig(process.env, { purpose: options.purpose });
  useCommandLogger(config);
  const database = await prepareDatabase(config);
  const client = createDynamoClient(database.config.dynamo);
  let context: INestApplicationContext | undefined;
  try {
    await task({
      config: database.config,
      client,
      tableName: database.config.dynamo.tableName,
      appContext: async () => (context ??= await createAppContext(withoutStreamWorker(database.config))),
    });
  } finally {
    await context?.close();
    client.destroy();
    await database.stop();
  }
}

/** Runs a command-line task inside the app's DI context (see `runWithDatabase`). */
export async function runWithAppContext(
  task: (context: INestApplicationContext) => Promise<void>,
  options: CommandOptions = {},
): Promise<void> {
  await runWithDatabase(async (database) => task(await database.appContext()), options);
}

/** Prints an error for a person and exits non-zero (2 for a wrong command line, by convention). */
export function failCommand(error: unknown, exitCode = 1): never {
  console.error(error instanceof Error ? error.message : error);
  process.exit(exitCode);
}
