import type { LoggerService } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { createDynamoClient } from '../dynamo/dynamo-client.factory.js';
import { MIGRATIONS } from './index.js';
import { type Migration, migrationLabel } from './migration.js';
import { assertMigrationsApplied } from './state.js';

/**
 * Before the app serves: every migration this version needs must be applied, or the start is
 * refused with a message naming them (MigrationsPendingError). With
 * MIGRATIONS_ALLOW_ONLINE_PENDING=true the app starts while online migrations are pending (they
 * may be running), and warns. A missing table is left to the rest of start-up to report.
 */
export async function checkMigrationsAtStart(
  config: AppConfig,
  logger: Pick<LoggerService, 'warn'>,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  const client = createDynamoClient(config.dynamo);
  try {
    const pending = await assertMigrationsApplied(
      client,
      config.dynamo.tableName,
      migrations,
      config.migrations.allowOnlinePending,
    );
    for (const migration of pending)
      logger.warn(`Migration ${migrationLabel(migration)} is pending; serving while it runs (it is online).`);
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  } finally {
    client.destroy();
  }
}
