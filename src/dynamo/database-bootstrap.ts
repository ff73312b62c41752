import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { createDynamoClient } from './dynamo-client.factory.js';
import { startEmbeddedDynamo } from './embedded-dynamo.js';
import { ensureTable } from './table.setup.js';

export interface PreparedDatabase {
  /** The configuration with the endpoint of the embedded engine filled in, when one was started. */
  config: AppConfig;
  /** Stops the embedded engine (a no-op otherwise). */
  stop(): Promise<void>;
}

/**
 * What has to happen before the app can serve: start the embedded DynamoDB Local when the
 * configuration asks for it, and create the table when it is missing and creation is allowed.
 * Shared by `main.ts` and the command-line scripts.
 */
export async function prepareDatabase(config: AppConfig, logger = new Logger('Database')): Promise<PreparedDatabase> {
  let resolved = config;
  let stop = async () => {};
  if (config.dynamo.embedded) {
    const engine = await startEmbeddedDynamo({ dataDir: config.dynamo.embeddedDataDir });
    logger.log(`Embedded DynamoDB Local on ${engine.endpoint} (data in ${config.dynamo.embeddedDataDir})`);
    resolved = { ...config, dynamo: { ...config.dynamo, endpoint: engine.endpoint } };
    stop = () => engine.stop();
  }
  if (resolved.dynamo.createTable) {
    const client = createDynamoClient(resolved.dynamo);
    try {
      const created = await ensureTable(client, resolved.dynamo.tableName);
      logger.log(`Table ${resolved.dynamo.tableName} ${created ? 'created' : 'exists'}`);
    } catch (error) {
      await stop();
      throw error;
    } finally {
      client.destroy();
    }
  }
  return { config: resolved, stop };
}
