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
import { Logger } from '@nestjs/common';
import { StartupError } from '../common/startup-error.js';
import { indexDrift } from './index-drift.js';
import { ENTITY, Keys } from './keys.js';
import { TABLE_LAYOUT_VERSION, tableDefinition, TTL_ATTRIBUTE } from './table.definition.js';
import { systemClock } from '../common/clock/clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A rejection's `name` (the SDK's exception name), or ''. */
const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name ?? '';

/**
 * Brings an existing table up to the definition: creates the GSIs it lacks, one at a time
 * (DynamoDB allows one index creation per UpdateTable) and waits for each to be ACTIVE; one that
 * exists but is still CREATING (an UpdateTable of an earlier start-up attempt whose answer was lost,
 * or of another process) is waited for the same way, never counted as ready.
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
  // with the table's size), only while waiting for one this call creates, or for one that exists
  // but is still CREATING (an earlier attempt's or another process's UpdateTable, backfilling).
  const existing = new Map(table.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.IndexStatus]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    if (existing.has(index.IndexName) && existing.get(index.IndexName) !== 'CREATING') continue;
    if (!existing.has(index.IndexName)) {
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
    }
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
    .catch((error: unknown) => {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    });
}

/**
 * What this process's start-up attempts did to the table so far: `prepareDatabase` passes one
 * object to every attempt `waitForDatabase` makes, so that an attempt that sent the CreateTable and
 * then failed (a timeout on the baseline's write, say) lets the next attempt know that the table it
 * now finds may be, or is, the one it made itself.
 */
export interface TableCreation {
  /** A CreateTable for the table was sent (its answer may have been lost). */
  createSent?: boolean;
  /** A CreateTable for the table was answered 200: the table is ours and new. */
  created?: boolean;
  /** The table was found CREATING: another process's CreateTable, whose baseline may follow. */
  foundCreating?: boolean;
}

/**
 * How long start-up waits for the baseline of a table another process is creating
 * (`waitForCreatorsBaseline`), and which tables it waits for: one found CREATING, and one found
 * ACTIVE but younger than `youngMs` (its `CreationDateTime` against `now()`), whose creator may
 * not have seen it ACTIVE yet. Options, not environment variables: only the tests need other values.
 */
export interface BaselineWait {
  /** The longest wait for the creator's baseline (15 s). */
  maxWaitMs?: number;
  /** Between two GetItems of the baseline (0.5 s). */
  pollMs?: number;
  wait?: typeof sleep;
  /** A table found ACTIVE, not restored, created less than this ago (2 min) is waited for as one found CREATING. */
  youngMs?: number;
  /** The current time in ms (`Date.now`), against the table's `CreationDateTime`. */
  now?: () => number;
}

/**
 * Whether a table found ACTIVE may still be in its creator's window: the creator's waiter polls
 * DescribeTable every 1 to 5 s, so it sees the table ACTIVE (and writes the baseline) up to ~5 s
 * after it is, and a table can take a minute and more from its CreateTable to ACTIVE. A restored
 * table has no creator writing a baseline (`isNewAndEmpty` never baselines one): no wait.
 */
function isYoung(
  table: TableDescription,
  { youngMs = 120_000, now = () => systemClock.now().getTime() }: BaselineWait,
) {
  if (table.RestoreSummary || !table.CreationDateTime) return false;
  return now() - new Date(table.CreationDateTime).getTime() < youngMs;
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
  logger: Pick<Logger, 'warn' | 'log'>,
): Promise<void> {
  for (let waited = 0; !(await hasBaseline(client, tableName)); waited += pollMs) {
    // Said once, and again if nothing came: otherwise an operator sees a start that stalls silently.
    if (waited === 0 && maxWaitMs > 0)
      logger.log(
        `The table ${tableName} is being created, or was created moments ago, by another process: ` +
          `waiting up to ${Math.round(maxWaitMs / 1000)} s for its layout baseline.`,
      );
    if (waited >= maxWaitMs) {
      if (maxWaitMs > 0)
        logger.warn(
          `No layout baseline for the table ${tableName} after ${Math.round(maxWaitMs / 1000)} s: ` +
            'its creator has not recorded one (an older build, or a table restored or imported into), so the migration check decides.',
        );
      return;
    }
    await wait(pollMs);
  }
}

/**
 * Whether a table whose making we did not see succeed may be baselined as new, judged from the
 * table once it is ACTIVE, never from a DescribeTable that found it missing (on AWS that can be
 * answered for seconds after another process's CreateTable or RestoreTable): it was not restored
 * from a backup or a point in time (`RestoreSummary`; the description exposes no trace of an S3
 * import, but an import is ACTIVE only once its items are in, which the next check sees); it is no
 * global table (`Replicas`, `GlobalTableVersion`: a region's replica can be ACTIVE before its
 * backfill ends, and a baseline written there would replicate over the other regions' record); and
 * it holds no item at all, in the MIGRATION partition or outside it. Emptiness of a whole table is
 * something no Query or GetItem can prove, so it is one consistent `Scan` with `Limit: 1` (one
 * item read at most, 0.5 RCU): a start-up-only admin read, never on a request path. A role without
 * `dynamodb:Scan` (the documented ones have none) gets "not judged new" and a warning: the table
 * stays without a baseline and the migration check decides (the safe side).
 */
async function isNewAndEmpty(
  client: DynamoDBClient,
  tableName: string,
  table: TableDescription,
  logger: Pick<Logger, 'warn'>,
): Promise<boolean> {
  if (table.RestoreSummary || table.Replicas?.length || table.GlobalTableVersion) return false;
  try {
    const { Items = [], LastEvaluatedKey } = await client.send(
      new ScanCommand({ TableName: tableName, Limit: 1, ConsistentRead: true }),
    );
    return Items.length === 0 && LastEvaluatedKey === undefined;
  } catch (error) {
    if (errorName(error) !== 'AccessDeniedException') throw error;
    logger.warn(
      `Could not tell whether the table ${tableName} is new and empty (its CreateTable was not seen to succeed, ` +
        'and this role may not dynamodb:Scan): left without a layout baseline, so the migration check decides. ' +
        'If it refuses a table that is in fact new, `npm run db:migrate` records the migrations (quick on an empty table).',
    );
    return false;
  }
}

/**
 * The ACTIVE table, once `waitUntilTableExists` saw it so: from the waiter's own last DescribeTable
 * (no second one, which on AWS could still answer ResourceNotFound for a moment).
 */
async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const result = await waitUntilTableExists(
    { client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 },
    { TableName: tableName },
  );
  const table = (result.reason as { Table?: TableDescription } | undefined)?.Table;
  // The waiter succeeds only on a description saying ACTIVE; never go on with an empty one, which
  // would make addMissingIndexes create every index.
  if (table?.TableStatus !== 'ACTIVE') throw new Error(`DescribeTable of ${tableName} answered no ACTIVE table`);
  return table;
}

/** What `ensureTable` works on, and what it shares with the start-up attempts before and after it. */
export interface EnsureTableOptions {
  client: DynamoDBClient;
  tableName: string;
  /** What earlier start-up attempts of this process did (`createOrCheckTable` passes one to every attempt). */
  creation?: TableCreation;
  /** The wait for another creator's baseline (15 s; the tests pass a counted one). */
  baselineWait?: BaselineWait;
  logger?: Pick<Logger, 'warn' | 'log'>;
}

/**
 * Creates the table from `tableDefinition` when it does not exist, waits until it is
 * ACTIVE, and enables TTL on `ttl`. Safe to run any number of times, also concurrently.
 * Returns true when it recorded the table as new (its layout baseline).
 *
 * A table this attempt created (CreateTable answered 200) gets the conditional baseline at once.
 * A retry after such an attempt (which failed before its baseline was seen written) finds the table
 * ours but no longer just made: an older build may have written to it meanwhile. It keeps a
 * baseline its earlier attempt wrote (a consistent GetItem), and otherwise writes one only when
 * `isNewAndEmpty` says so, as when the CreateTable was not seen to succeed: the SDK retried a
 * create whose answer was lost and was told ResourceInUse, or an earlier attempt with the same
 * `creation` sent it and never heard back. Such a table may be ours and new, or another's:
 * restored, imported, made by an older build. It gets the index check an existing table gets, and
 * the baseline only when `isNewAndEmpty` says so; otherwise it stays without one, and the start-up's
 * migration check refuses it as older than migrations until `db:migrate` (the safe side).
 * A table found CREATING (another process's CreateTable), or found ACTIVE but young (`isYoung`: its
 * creator may not have seen it ACTIVE yet), is checked as an existing one once ACTIVE, then given
 * up to `baselineWait.maxWaitMs` (15 s) for its creator's baseline (`waitForCreatorsBaseline`).
 */
export async function ensureTable({
  client,
  tableName,
  creation = {},
  baselineWait = {},
  logger = new Logger('Database'),
}: EnsureTableOptions): Promise<boolean> {
  let described: TableDescription | undefined;
  let createdNow = false;
  try {
    described = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    if (described?.TableStatus === 'CREATING') creation.foundCreating = true;
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
    creation.createSent = true;
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      creation.created = createdNow = true;
    } catch (createError) {
      // Made between our describe and create: by another process, or by our own attempt whose
      // answer was lost and which the SDK retried. Which one, only the ACTIVE table can tell.
      if (errorName(createError) !== 'ResourceInUseException') throw createError;
    }
  }
  const active = described?.TableStatus === 'ACTIVE' ? described : await waitUntilActive(client, tableName);
  let recordedNew = createdNow;
  if (!createdNow && creation.created) {
    // Ours (answered 200 to an earlier attempt): the baseline that attempt wrote, if it landed
    // (its answer lost), or the judgement of a table whose making was not seen.
    recordedNew = (await hasBaseline(client, tableName)) || (await isNewAndEmpty(client, tableName, active, logger));
  } else if (!createdNow) {
    assertIndexesMatch(tableName, active);
    await addMissingIndexes(client, tableName, active);
    if (creation.createSent) recordedNew = await isNewAndEmpty(client, tableName, active, logger);
    else if (creation.foundCreating || isYoung(active, baselineWait))
      await waitForCreatorsBaseline(client, tableName, baselineWait, logger);
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
