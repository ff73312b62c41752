import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
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
 * What this process's start-up attempts did to the table so far: `prepareDatabase` passes one
 * object to every attempt `waitForDatabase` makes, so that an attempt that sent the CreateTable and
 * then failed (a timeout on the baseline's write, say) lets the next attempt know that the table it
 * now finds may be the one it made itself.
 */
export interface TableCreation {
  /** A CreateTable for the table was sent (its answer may have been lost). */
  createSent?: boolean;
  /** The table was found CREATING: another process's CreateTable, whose baseline may follow. */
  foundCreating?: boolean;
}

/** How long start-up waits for the baseline of a table another process is creating (`waitForCreatorsBaseline`). */
export interface BaselineWait {
  maxWaitMs?: number;
  pollMs?: number;
  wait?: typeof sleep;
}

/** Whether the table holds its layout baseline: one consistent GetItem. */
async function hasBaseline(client: DynamoDBClient, tableName: string): Promise<boolean> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { PK: { S: Keys.migrationBaseline.PK }, SK: { S: Keys.migrationBaseline.SK } },
      ProjectionExpression: 'PK',
      ConsistentRead: true,
    }),
  );
  return Item !== undefined;
}

/**
 * A table found CREATING was made by another process starting at the same time (two `npm start`,
 * two containers of a rollout), which writes the baseline only once it sees the table ACTIVE. So
 * the migration check that follows would refuse the table if it ran now; this waits up to
 * `maxWaitMs`, polling the baseline, for the creator's. It writes nothing itself: a table an older
 * build is creating gets no baseline from it, and is still refused once the wait is over.
 */
async function waitForCreatorsBaseline(
  client: DynamoDBClient,
  tableName: string,
  { maxWaitMs = 15_000, pollMs = 500, wait = sleep }: BaselineWait,
): Promise<void> {
  for (let waited = 0; !(await hasBaseline(client, tableName)); waited += pollMs) {
    if (waited >= maxWaitMs) return;
    await wait(pollMs);
  }
}

/**
 * Whether a table whose making we did not see succeed may be baselined as new, judged from the
 * table once it is ACTIVE, never from a DescribeTable that found it missing (on AWS that can be
 * answered for seconds after another process's CreateTable or RestoreTable): it was not restored
 * from a backup or a point in time (`RestoreSummary`; the description exposes no trace of an S3
 * import, but an import is ACTIVE only once its items are in, which the next check sees), and it
 * holds no item at all, in the MIGRATION partition or outside it. Emptiness of a whole table is
 * something no Query or GetItem can prove, so it is one consistent `Scan` with `Limit: 1` (one
 * item read at most, 0.5 RCU): a start-up-only admin read, never on a request path.
 */
async function isNewAndEmpty(client: DynamoDBClient, tableName: string, table: TableDescription): Promise<boolean> {
  if (table.RestoreSummary) return false;
  const { Items = [], LastEvaluatedKey } = await client.send(
    new ScanCommand({ TableName: tableName, Limit: 1, ConsistentRead: true }),
  );
  return Items.length === 0 && LastEvaluatedKey === undefined;
}

/**
 * Creates the table from `tableDefinition` when it does not exist, waits until it is
 * ACTIVE, and enables TTL on `ttl`. Safe to run any number of times, also concurrently.
 * Returns true when it recorded the table as new (its layout baseline).
 *
 * A table this call created gets the baseline at once. One whose CreateTable was sent but not seen
 * to succeed (the SDK retried a create whose answer was lost and was told ResourceInUse; or an
 * earlier attempt with the same `creation` sent it and failed later) may be ours and new, or
 * another's: restored, imported, made by an older build. It gets the index check an existing table
 * gets, and the baseline only when `isNewAndEmpty` says so; otherwise it stays without one, and the
 * start-up's migration check refuses it as older than migrations until `db:migrate` (the safe side).
 * A table found CREATING (another process's CreateTable) is checked as an existing one once ACTIVE,
 * then given up to `baselineWait.maxWaitMs` (15 s) for its creator's baseline (`waitForCreatorsBaseline`).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  creation: TableCreation = {},
  baselineWait: BaselineWait = {},
): Promise<boolean> {
  let created = false;
  let described: TableDescription | undefined;
  try {
    described = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    if (described?.TableStatus === 'CREATING') creation.foundCreating = true;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    creation.createSent = true;
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      created = true;
    } catch (createError) {
      // Made between our describe and create: by another process, or by our own attempt whose
      // answer was lost and which the SDK retried. Which one, only the ACTIVE table can tell.
      if ((createError as { name?: string }).name !== 'ResourceInUseException') throw createError;
    }
  }
  if (described?.TableStatus !== 'ACTIVE')
    await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: tableName });
  let recordedNew = created;
  if (!created && creation.createSent) {
    const active = described?.TableStatus === 'ACTIVE' ? described : await describeTable(client, tableName);
    assertIndexesMatch(tableName, active);
    await addMissingIndexes(client, tableName, active);
    recordedNew = await isNewAndEmpty(client, tableName, active);
  } else if (!created && described) {
    assertIndexesMatch(tableName, described);
    await addMissingIndexes(client, tableName, described);
    if (creation.foundCreating) await waitForCreatorsBaseline(client, tableName, baselineWait);
  }
  // Conditional, so idempotent: two processes that both judged the table new write one record.
  if (recordedNew) await recordBaseline(client, tableName);
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
  return recordedNew;
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return Table ?? {};
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
