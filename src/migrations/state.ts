import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Keys } from '../dynamo/keys.js';
import { formatVersion, type Migration, migrationLabel } from './migration.js';

export interface MigrationRecord {
  version: number;
  name: string;
  status: 'running' | 'applied';
  startedAt: string;
  finishedAt?: string;
  scanned: number;
  changed: number;
  /** Items the migration could not change (named in its run's log). */
  skipped: number;
}

export interface MigrationState {
  /** The layout the table was created at (0 for a table older than migrations). */
  baseline: number;
  records: MigrationRecord[];
}

export interface MigrationStatus {
  migration: Migration;
  state: 'applied' | 'baseline' | 'running' | 'pending';
  record?: MigrationRecord;
}

/** The table's migration records: one consistent Query of their small partition. */
export async function readMigrationState(client: DynamoDBClient, tableName: string): Promise<MigrationState> {
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': { S: Keys.migrationPartition } },
      ConsistentRead: true,
    }),
  );
  let baseline = 0;
  const records: MigrationRecord[] = [];
  for (const item of Items) {
    if (item.SK.S === Keys.migrationBaseline.SK) baseline = Number(item.version.N);
    else
      records.push({
        version: Number(item.version.N),
        name: item.name.S!,
        status: item.status.S as MigrationRecord['status'],
        startedAt: item.startedAt.S!,
        finishedAt: item.finishedAt?.S,
        scanned: Number(item.scanned?.N ?? 0),
        changed: Number(item.changed?.N ?? 0),
        skipped: Number(item.skipped?.N ?? 0),
      });
  }
  return { baseline, records };
}

/** Each known migration with where this table stands. */
export function migrationStatuses(migrations: readonly Migration[], state: MigrationState): MigrationStatus[] {
  return migrations.map((migration) => {
    const record = state.records.find((r) => r.version === migration.version);
    if (record?.status === 'applied') return { migration, state: 'applied', record };
    if (migration.version <= state.baseline) return { migration, state: 'baseline' };
    return { migration, state: record ? 'running' : 'pending', record };
  });
}

export class MigrationsPendingError extends Error {
  constructor(readonly pending: Migration[]) {
    super(
      `The table needs ${pending.length === 1 ? 'a migration' : 'migrations'} before this version can start: ` +
        `${pending.map((m) => `${migrationLabel(m)}${m.online ? ' (online)' : ''}`).join(', ')}. ` +
        'Run `npm run db:migrate` (see `npm run db:migrate -- status`)' +
        (pending.every((m) => m.online)
          ? ', or set MIGRATIONS_ALLOW_ONLINE_PENDING=true to serve while it runs.'
          : '.'),
    );
    this.name = 'MigrationsPendingError';
  }
}

/**
 * Start-up check: throws MigrationsPendingError naming every migration not yet applied, unless
 * `allowOnlinePending` and each of them is online (then it returns them, for a warning).
 */
export async function assertMigrationsApplied(
  client: DynamoDBClient,
  tableName: string,
  migrations: readonly Migration[],
  allowOnlinePending: boolean,
): Promise<Migration[]> {
  const pending = migrationStatuses(migrations, await readMigrationState(client, tableName))
    .filter((s) => s.state === 'pending' || s.state === 'running')
    .map((s) => s.migration);
  if (pending.length > 0 && !(allowOnlinePending && pending.every((m) => m.online)))
    throw new MigrationsPendingError(pending);
  return pending;
}

export { formatVersion };
