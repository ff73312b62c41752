import {
  type AttributeValue,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { itemFromJson, itemToJson } from '../admin-tools/dynamodb-json.js';
import { createProgress, type ProgressStream } from '../admin-tools/progress.js';
import { CapacityLimiter } from '../dynamo/capacity-limiter.js';
import { cancellationReasons, isConditionalCheckFailed, isTransactionCanceled } from '../dynamo/dynamo-errors.js';
import { Keys } from '../dynamo/keys.js';
import { isSkipped, type ItemChange, type ItemSkipped, type Migration, migrationLabel } from './migration.js';
import { migrationStatuses, readMigrationState } from './state.js';
import { systemClock } from '../common/clock/clock.js';

export interface RunMigrationsOptions {
  client: DynamoDBClient;
  tableName: string;
  migrations: readonly Migration[];
  /** Print what would change; write nothing (not even the records). */
  dryRun?: boolean;
  /** Items per Scan page, i.e. between checkpoints (default 100). */
  pageSize?: number;
  /** Read and write capacity units per second to stay under; unbounded when absent. */
  maxRcu?: number;
  maxWcu?: number;
  /** Aborting stops after the page in flight, with its checkpoint written. */
  signal?: AbortSignal;
  /** Lines for a person (what changes in a dry run, each migration's result). */
  log?: (line: string) => void;
  progress?: ProgressStream;
}

export interface MigrationRun {
  label: string;
  /** Items read (this run), items changed (or that would be, in a dry run). */
  scanned: number;
  changed: number;
  /** Items the filter matched that the migration could not change (each named in the log). */
  skipped: number;
  /** Whether it continued from a checkpoint. */
  resumed: boolean;
}

export class MigrationInterrupted extends Error {
  constructor(label: string) {
    super(`Migration ${label} stopped after a checkpoint; run npm run db:migrate again to continue.`);
    this.name = 'MigrationInterrupted';
  }
}

type Key = Record<string, AttributeValue>;
const recordKey = (version: number): Key => {
  const key = Keys.migration(version);
  return { PK: { S: key.PK }, SK: { S: key.SK } };
};

/**
 * Applies the pending migrations in version order. Each one reads the table page by page with a
 * Scan (admin tooling, at `maxRcu`), applies each item's conditional update (at `maxWcu`), and after
 * every page stores the Scan position and its totals in the migration's record
 * (`PK=MIGRATION, SK=VERSION#NNNN`): killed at any point, the next run continues from the last
 * page recorded, and the items of the page in flight are changed at most once because every
 * update is conditioned on the item still needing it. The record gets `finishedAt` and
 * `status=applied` at the end.
 */
export async function runMigrations(options: RunMigrationsOptions): Promise<MigrationRun[]> {
  const { client, tableName } = options;
  const log = options.log ?? (() => undefined);
  const reads = new CapacityLimiter(options.maxRcu);
  const writes = new CapacityLimiter(options.maxWcu);
  const statuses = migrationStatuses(options.migrations, await readMigrationState(client, tableName));
  const runs: MigrationRun[] = [];

  for (const { migration, state } of statuses) {
    if (state === 'applied' || state === 'baseline') continue;
    const label = migrationLabel(migration);
    const record = recordKey(migration.version);
    let startKey: Key | undefined;
    if (!options.dryRun) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              ...record,
              entity: { S: 'Migration' },
              version: { N: String(migration.version) },
              name: { S: migration.name },
              status: { S: 'running' },
              startedAt: { S: systemClock.now().toISOString() },
              scanned: { N: '0' },
              changed: { N: '0' },
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Started before: continue from its checkpoint.
        startKey = await readCheckpoint(client, tableName, record);
      }
    }
    const run: MigrationRun = { label, scanned: 0, changed: 0, skipped: 0, resumed: startKey !== undefined };
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const progress = createProgress({ label, total: Table?.ItemCount ?? 0, stream: options.progress });
    let lastReadCost = 1;

    do {
      await reads.take(lastReadCost);
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          Limit: options.pageSize ?? 100,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
          FilterExpression: migration.filter?.expression,
          ExpressionAttributeNames: migration.filter?.names,
          ExpressionAttributeValues: migration.filter?.values,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const readCost = page.ConsumedCapacity?.CapacityUnits ?? lastReadCost;
      reads.settle(lastReadCost, readCost);
      lastReadCost = readCost;

      let changed = 0;
      let skipped = 0;
      for (const item of page.Items ?? []) {
        const update = await migration.migrate(item, { client, tableName, dryRun: options.dryRun });
        if (!update) continue;
        if (isSkipped(update)) {
          log(`  skipped ${item.PK?.S}/${item.SK?.S}: ${update.skipped}`);
          skipped++;
          continue;
        }
        if (options.dryRun) {
          log(`  would change ${update.description}`);
          changed++;
          continue;
        }
        const outcome = await applyToItem({ client, tableName, migration, label, writes }, item, update);
        if (outcome === true) changed++;
        else if (outcome) {
          log(`  skipped ${item.PK?.S}/${item.SK?.S}: ${outcome.skipped}`);
          skipped++;
        }
      }
      // Scanned counts what the Scan read, before the filter, like the capacity it cost.
      run.scanned += page.ScannedCount ?? 0;
      run.changed += changed;
      run.skipped += skipped;
      startKey = page.LastEvaluatedKey;
      if (!options.dryRun)
        await saveCheckpoint(client, tableName, record, startKey, {
          scanned: page.ScannedCount ?? 0,
          changed,
          skipped,
        });
      progress.update(run.scanned);
      if (startKey && options.signal?.aborted) throw new MigrationInterrupted(label);
    } while (startKey);

    progress.finish();
    if (!options.dryRun)
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: record,
          UpdateExpression: 'SET #status = :applied, finishedAt = :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':applied': { S: 'applied' }, ':now': { S: systemClock.now().toISOString() } },
        }),
      );
    log(
      `${label}: ${run.scanned} items read, ${run.changed} ${options.dryRun ? 'would change' : 'changed'}` +
        `${run.skipped ? `, ${run.skipped} skipped (named above: fix or delete them by hand)` : ''}` +
        `${run.resumed ? ' (continued from its checkpoint)' : ''}.`,
    );
    runs.push(run);
  }
  return runs;
}

/** How many times one item's update is tried while what it was computed from keeps changing. */
const ATTEMPTS_PER_ITEM = 3;

/**
 * Writes one item's update, conditioned on the item still needing it. When the condition fails,
 * the item changed since it was read (a run killed mid-page, the app, a stream worker left
 * running): it is read again (consistent) and `migrate` asked again, so a concurrent change is
 * migrated from its new value instead of skipped as done (review 11, M2). After ATTEMPTS_PER_ITEM
 * the run stops, naming the item, and `db:migrate` continues from the page's checkpoint. True
 * when it wrote; skipped (with the reason) when an `ItemMove`'s new key holds an item already:
 * trying again cannot help, and it is not a change under the run (review 12, L2).
 */
export async function applyToItem(
  run: { client: DynamoDBClient; tableName: string; migration: Migration; label: string; writes: CapacityLimiter },
  item: Key,
  first: ItemChange,
): Promise<boolean | ItemSkipped> {
  const { client, tableName, migration, writes } = run;
  let update: ItemChange | undefined = first;
  for (let attempt = 1; update; attempt++) {
    await writes.take(1);
    if ('moveTo' in update) {
      const moved = await moveItem(client, tableName, item, update, writes);
      if (moved === 'moved') return true;
      if (moved === 'target-exists')
        return {
          skipped: `its new key ${update.moveTo.PK?.S}/${update.moveTo.SK?.S} holds an item already (compare the two, keep one)`,
        };
    } else
      try {
        const result = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: update.key ?? { PK: item.PK, SK: item.SK },
            UpdateExpression: update.updateExpression,
            ConditionExpression: update.conditionExpression,
            ExpressionAttributeNames: update.names,
            ExpressionAttributeValues: update.values,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        writes.settle(1, result.ConsumedCapacity?.CapacityUnits ?? 1);
        return true;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    if (attempt >= ATTEMPTS_PER_ITEM) {
      throw new Error(
        `Migration ${run.label}: the item ${item.PK?.S}/${item.SK?.S} changed under it ${attempt} times; ` +
          'stop what writes it (the stream worker, the app) and run npm run db:migrate again.',
      );
    }
    const fresh = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { PK: item.PK, SK: item.SK }, ConsistentRead: true }),
    );
    // Deleted meanwhile: nothing left to do. Migrated meanwhile: `migrate` gives nothing.
    const again = fresh.Item ? await migration.migrate(fresh.Item, { client, tableName }) : undefined;
    // Rewritten into something it cannot migrate: left as it is, and counted and named like an
    // item skipped at the Scan (review 12, L3: it was left uncounted, as if done).
    if (again && isSkipped(again)) return again;
    update = again;
  }
  return false;
}

/**
 * An `ItemMove`: the copy Put at its new key and the item deleted, in one transaction. Says which
 * condition failed when one did: the Put's (the new key is taken) or the Delete's (the item changed).
 */
async function moveItem(
  client: DynamoDBClient,
  tableName: string,
  item: Key,
  move: Extract<ItemChange, { moveTo: unknown }>,
  writes: CapacityLimiter,
): Promise<'moved' | 'target-exists' | 'changed'> {
  try {
    const result = await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: move.moveTo, ConditionExpression: 'attribute_not_exists(PK)' } },
          {
            Delete: {
              TableName: tableName,
              Key: { PK: item.PK, SK: item.SK },
              ConditionExpression: move.conditionExpression,
              ExpressionAttributeNames: move.names,
              ExpressionAttributeValues: move.values,
            },
          },
        ],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    writes.settle(1, (result.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) || 1);
    return 'moved';
  } catch (error) {
    if (isTransactionCanceled(error)) {
      const [put, remove] = cancellationReasons(error).map((r) => r.code === 'ConditionalCheckFailed');
      // The item changed (or went) first: read again. Only a taken new key is reported as such.
      if (remove) return 'changed';
      if (put) return 'target-exists';
    }
    throw error;
  }
}

async function readCheckpoint(client: DynamoDBClient, tableName: string, record: Key): Promise<Key | undefined> {
  const result = await client.send(new GetItemCommand({ TableName: tableName, Key: record, ConsistentRead: true }));
  const checkpoint = result.Item?.checkpoint?.S;
  return checkpoint ? itemFromJson(JSON.parse(checkpoint)) : undefined;
}

/** The Scan position after a page and the page's totals, in one update of the record. */
async function saveCheckpoint(
  client: DynamoDBClient,
  tableName: string,
  record: Key,
  next: Key | undefined,
  { scanned, changed, skipped }: { scanned: number; changed: number; skipped: number },
): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: record,
      UpdateExpression: `${next ? 'SET checkpoint = :checkpoint ' : 'REMOVE checkpoint '}ADD scanned :scanned, changed :changed, skipped :skipped`,
      ExpressionAttributeValues: {
        ...(next ? { ':checkpoint': { S: JSON.stringify(itemToJson(next)) } } : {}),
        ':scanned': { N: String(scanned) },
        ':changed': { N: String(changed) },
        ':skipped': { N: String(skipped) },
      },
    }),
  );
}
