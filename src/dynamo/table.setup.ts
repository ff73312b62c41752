import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { StartupError } from '../common/startup-error.js';
import { indexDrift } from './index-drift.js';
import { ENTITY, Keys } from './keys.js';
import { TABLE_LAYOUT_VERSION, tableDefinition, TTL_ATTRIBUTE } from './table.definition.js';
import { systemClock } from '../common/clock/clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Brings an existing table up to the definition: creates the GSIs it lacks, one at a time
 * (DynamoDB allows one index creation per UpdateTable) and waits for each to be ACTIVE.
 * So a table made by an older version of the app keeps working after an upgrade. An index
 * still not ACTIVE after `maxWaitMs` (a large table's backfill) is a `StartupError`: starting
 * anyway would fail every Query of it (a commenter's listing, the export, the erasure).
 */
export async function addMissingIndexes(
  client: DynamoDBClient,
  tableName: string,
  table: TableDescription,
  {
    maxWaitMs = 600_000,
    pollMs = 1000,
    wait = sleep,
  }: { maxWaitMs?: number; pollMs?: number; wait?: typeof sleep } = {},
): Promise<void> {
  const wanted = tableDefinition(tableName);
  // The description read at start-up says which exist: no DescribeTable per index (each grows
  // with the table's size), only while waiting for one this call creates.
  const existing = new Set(table.GlobalSecondaryIndexes?.map((index) => index.IndexName));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    if (existing.has(index.IndexName)) continue;
    const attributes = new Set(index.KeySchema?.map((key) => key.AttributeName));
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: wanted.AttributeDefinitions?.filter((a) => attributes.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [
          { Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection } },
        ],
      }),
    );
    for (let waited = 0; ; waited += pollMs) {
      const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const status = table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.IndexName)?.IndexStatus;
      if (status === 'ACTIVE') break;
      if (waited >= maxWaitMs)
        throw new StartupError(
          `The index ${index.IndexName} of ${tableName} is still ${status ?? 'missing'} after ` +
            `${Math.round(maxWaitMs / 1000)} s (DynamoDB is backfilling it); start the app again once it is ACTIVE.`,
        );
      await wait(pollMs);
    }
  }
}

/**
 * Refuses a table whose existing indexes have other keys or another projection than the
 * definition: DynamoDB cannot change them in place, and keeping them would silently serve
 * listings from an index that lacks what they show.
 */
export function assertIndexesMatch(tableName: string, table: TableDescription): void {
  const problems = indexDrift(table, tableDefinition(tableName).GlobalSecondaryIndexes ?? []);
  if (problems.length === 0) return;
  throw new StartupError(
    `The table ${tableName} does not match this version's layout: ${problems.join('; ')}. DynamoDB cannot ` +
      "change an index's keys or projection in place; run `npm run db:migrate`, whose migration creates the " +
      'new index under a new name, backfills it and switches to it.',
  );
}

/**
 * A new table holds no data in an older layout, so no migration is pending for it: it records
 * the layout version it starts at. (A table without this record predates migrations: layout 0.)
 */
async function recordBaseline(client: DynamoDBClient, tableName: string): Promise<void> {
  await client
    .send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          PK: { S: Keys.migrationBaseline.PK },
          SK: { S: Keys.migrationBaseline.SK },
          entity: { S: ENTITY.Migration },
          version: { N: String(TABLE_LAYOUT_VERSION) },
          createdAt: { S: systemClock.now().toISOString() },
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    )
    .catch((error: { name?: string }) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
}

/**
 * Creates the table from `tableDefinition` when it does not exist, waits until it is
 * ACTIVE, and enables TTL on `ttl`. Safe to run any number of times, also concurrently.
 * Returns true when it created the table.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  let created = false;
  let described: TableDescription | undefined;
  try {
    described = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      created = true;
    } catch (createError) {
      // Another process created it between our describe and create: that is fine.
      if ((createError as { name?: string }).name !== 'ResourceInUseException') throw createError;
    }
  }
  if (described?.TableStatus !== 'ACTIVE')
    await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: tableName });
  if (created) await recordBaseline(client, tableName);
  if (!created && described) {
    assertIndexesMatch(tableName, described);
    await addMissingIndexes(client, tableName, described);
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== 'ENABLED' && status !== 'ENABLING') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  }
  return created;
}

/**
 * Production safety nets for the table (`db:create-table` with DYNAMODB_PITR and
 * DYNAMODB_DELETION_PROTECTION, on by default in production): point-in-time recovery (restore
 * to any second of the last 35 days into a new table) and deletion protection (DeleteTable is
 * refused until it is switched off). Both are idempotent.
 */
export async function protectTable(
  client: DynamoDBClient,
  tableName: string,
  options: { pointInTimeRecovery: boolean; deletionProtection: boolean },
): Promise<string[]> {
  const done: string[] = [];
  if (options.pointInTimeRecovery) {
    await client.send(
      new UpdateContinuousBackupsCommand({
        TableName: tableName,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    );
    done.push('point-in-time recovery');
  }
  if (options.deletionProtection) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!Table?.DeletionProtectionEnabled)
      await client.send(new UpdateTableCommand({ TableName: tableName, DeletionProtectionEnabled: true }));
    done.push('deletion protection');
  }
  return done;
}
