import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';

/**
 * `npm run db:create-table`: creates the table (keys, indexes, TTL, stream) when missing.
 * Works against the embedded engine (default in development), DYNAMODB_ENDPOINT, or AWS
 * (with NODE_ENV=production and credentials in the environment). Safe to run repeatedly.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const database = await prepareDatabase(
    { ...config, dynamo: { ...config.dynamo, createTable: true } },
    new Logger('create-table'),
  );
  await database.stop();
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
