import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';
import { createDynamoClient } from '../dynamo/dynamo-client.factory.js';
import { protectTable } from '../dynamo/table.setup.js';
import { useCommandLogger } from './app-context.js';

/**
 * `npm run db:create-table`: creates the table (keys, indexes, TTL, stream) when missing.
 * Works against the embedded engine (default in development), DYNAMODB_ENDPOINT, or AWS
 * (with NODE_ENV=production and credentials in the environment). Safe to run repeatedly. In
 * production it also switches on point-in-time recovery and deletion protection (see
 * docs/operations.md; DYNAMODB_PITR and DYNAMODB_DELETION_PROTECTION turn them off or on).
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Creating the table needs no JWT secret, mail sender or front-end URL (docs: README "AWS").
  const config = loadConfig(process.env, { purpose: 'table' });
  useCommandLogger(config);
  const logger = new Logger('create-table');
  const database = await prepareDatabase({ ...config, dynamo: { ...config.dynamo, createTable: true } }, logger);
  const client = createDynamoClient(database.config.dynamo);
  try {
    const enabled = await protectTable(client, database.config.dynamo.tableName, config.tableProtection);
    if (enabled.length > 0) logger.log(`Table ${database.config.dynamo.tableName}: ${enabled.join(' and ')} on`);
  } finally {
    client.destroy();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
