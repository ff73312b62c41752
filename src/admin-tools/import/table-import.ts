import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type BatchWriteOptions, batchWriteRaw, type RawWriteRequest } from '../../dynamo/batch.js';
import { CapacityLimiter } from '../../dynamo/capacity-limiter.js';
import { isConditionalCheckFailed } from '../../dynamo/dynamo-errors.js';
import { layoutProblem } from '../../dynamo/item-schema.js';
import { Keys } from '../../dynamo/keys.js';
import { GSI } from '../../dynamo/table.definition.js';
import { type Item, ItemFormatError, itemSize, parseExportLine } from '../dynamodb-json.js';
import { createProgress, type ProgressStream } from '../progress.js';
import { systemClock } from '../../common/clock/clock.js';

export interface ImportOptions {
  client: DynamoDBClient;
  tableName: string;
  /** An export (`db:export`), gzip when the name ends in `.gz`. */
  file: string;
  /**
   * Write into a table that already holds items (same keys are overwritten; a user item keeps the
   * table's session epoch when that is higher).
   */
  merge?: boolean;
  /** Write capacity units per second to stay under (GSI writes included); unbounded when absent. */
  maxWcu?: number;
  /** Continue an interrupted import from its checkpoint. */
  resume?: boolean;
  /** Where progress is recorded (default `<file>.checkpoint.json`). */
  checkpointFile?: string;
  /** Aborting stops after the batch in flight, with the checkpoint written. */
  signal?: AbortSignal;
  progress?: ProgressStream;
  /** Checks run at the end (`db:check-counts`); returns the problems found. */
  checkCounts?: () => Promise<string[]>;
  /** Retry tuning (tests). */
  batch?: Pick<BatchWriteOptions<RawWriteRequest>, 'maxAttempts' | 'retryDelayMs'>;
}

export interface ImportSummary {
  /** Items written by this run. */
  written: number;
  /** Items in the file. */
  items: number;
  /** The line this run started after (0 for a fresh import). */
  resumedAfterLine: number;
  consumedWcu: number;
  seconds: number;
  /** What `checkCounts` reported; empty when clean. */
  countProblems: string[];
}

/** A problem with the file or the target: nothing was written. */
export class ImportRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportRefused';
  }
}

/** Stopped on request (Ctrl+C): the checkpoint names the last line written. */
export class ImportInterrupted extends Error {
  constructor(readonly linesDone: number) {
    super(`Import stopped after line ${linesDone}; run it again with --resume to continue.`);
    this.name = 'ImportInterrupted';
  }
}

interface Checkpoint {
  file: string;
  sha256: string;
  tableName: string;
  /** Every item up to and including this line is in the table. */
  linesDone: number;
  items: number;
  startedAt: string;
  updatedAt: string;
}

/** The lines of the file with their numbers (1-based), gunzipped when the name ends in `.gz`. */
function lines(file: string, onRawChunk?: (chunk: Buffer) => void): AsyncIterable<string> {
  const raw = createReadStream(file);
  if (onRawChunk) raw.on('data', (data) => onRawChunk(data as Buffer));
  let input: Readable = raw;
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    input = raw.pipe(gunzip);
  }
  return createInterface({ input, crlfDelay: Infinity });
}

const keyOf = (item: Item) => `${item.PK.S}\u0000${item.SK.S}`;

/**
 * Reads the whole file once and checks every line before anything is written: JSON, DynamoDB
 * attribute values, and the declared layout (entity and key shape). Returns the item count and
 * the file's SHA-256 (which ties a checkpoint to its file).
 */
async function validate(file: string): Promise<{ items: number; sha256: string }> {
  const hash = createHash('sha256');
  let lineNumber = 0;
  try {
    for await (const line of lines(file, (data) => hash.update(data))) {
      lineNumber++;
      let item: Item;
      try {
        item = parseExportLine(line);
      } catch (error) {
        if (error instanceof ItemFormatError) throw new ImportRefused(`line ${lineNumber}: ${error.message}`);
        throw error;
      }
      const problem = layoutProblem(item);
      if (problem) throw new ImportRefused(`line ${lineNumber}: ${problem}`);
      if (itemSize(item) > 400 * 1024) throw new ImportRefused(`line ${lineNumber}: item larger than 400 KB`);
    }
  } catch (error) {
    if (error instanceof ImportRefused) throw error;
    throw new ImportRefused(`${file} after line ${lineNumber}: ${(error as Error).message}`);
  }
  return { items: lineNumber, sha256: hash.digest('hex') };
}

/**
 * Whether the table holds items other than the migration records (which say which layout the
 * data is in and travel with the data: see `replaceMigrationRecords`). A Scan with a filter,
 * stopping at the first item found.
 */
async function holdsData(client: DynamoDBClient, tableName: string): Promise<boolean> {
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        Limit: 100,
        ProjectionExpression: 'PK',
        FilterExpression: 'PK <> :migrations',
        ExpressionAttributeValues: { ':migrations': { S: Keys.migrationPartition } },
        ExclusiveStartKey,
        ConsistentRead: true,
      }),
    );
    if ((page.Items?.length ?? 0) > 0) return true;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return false;
}

/**
 * An empty table made by this app carries a baseline record (created at the current layout).
 * The imported data is at the layout of its export, whose own records come with it; so the
 * target's records go first, or a layout-0 export would look fully migrated.
 */
async function replaceMigrationRecords(client: DynamoDBClient, tableName: string): Promise<void> {
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': { S: Keys.migrationPartition } },
      ProjectionExpression: 'PK, SK',
      ConsistentRead: true,
    }),
  );
  await batchWriteRaw(
    client,
    tableName,
    Items.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  // Write-then-rename: a kill in the middle leaves the previous checkpoint, never half a file.
  await writeFile(`${path}.tmp`, JSON.stringify(checkpoint, null, 2));
  await rename(`${path}.tmp`, path);
}

/** Write units an item costs: 1 per KB on the table plus each index that holds it. */
function estimateWcu(item: Item): number {
  const indexes = Object.values(GSI).filter((index) => item[index.partitionKey] && item[index.sortKey]).length;
  return Math.ceil(itemSize(item) / 1024) * (1 + indexes);
}

/** How often a merged user item is read and written again when its epoch rose in between. */
const EPOCH_ATTEMPTS = 5;

const isUserItem = (item: Item): boolean =>
  item.SK.S === Keys.user('').SK && item.PK.S?.startsWith(Keys.userPartition('')) === true;

const epochOf = (item: Record<string, AttributeValue> | undefined): number => Number(item?.sessionEpoch?.N ?? 0);

/**
 * A user item of the file as a merge writes it: with the table's `sessionEpoch` (and its
 * `sessionEpochKeeps`) when that one is higher. The file's session items were signed in at its
 * older epochs: written back with the older epoch, those the table has ended since the export
 * would be alive again (review 16a L3).
 */
function withHigherEpoch(item: Item, current: Record<string, AttributeValue> | undefined): Item {
  if (epochOf(current) <= epochOf(item)) return item;
  const { sessionEpochKeeps: _fileKeeps, ...rest } = item;
  return {
    ...rest,
    sessionEpoch: { N: String(epochOf(current)) },
    ...(current?.sessionEpochKeeps ? { sessionEpochKeeps: current.sessionEpochKeeps } : {}),
  };
}

/**
 * Writes a user item in a merge without lowering the table's epoch: reads the table's epoch
 * (consistent), puts the item with the higher one, conditioned on the table's epoch not having
 * risen since the read (an epoch only rises, by ADD), and starts again when it has. Returns the
 * write units consumed.
 */
async function putUserKeepingEpoch(client: DynamoDBClient, tableName: string, item: Item): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const { Item: current } = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { PK: item.PK, SK: item.SK },
        ProjectionExpression: 'sessionEpoch, sessionEpochKeeps',
        ConsistentRead: true,
      }),
    );
    const merged = withHigherEpoch(item, current);
    try {
      const written = await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: merged,
          ConditionExpression: 'attribute_not_exists(sessionEpoch) OR sessionEpoch <= :epoch',
          ExpressionAttributeValues: { ':epoch': { N: String(epochOf(merged)) } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return written.ConsumedCapacity?.CapacityUnits ?? 0;
    } catch (error) {
      if (!isConditionalCheckFailed(error) || attempt >= EPOCH_ATTEMPTS) throw error;
    }
  }
}

/**
 * `db:import`: loads an export into a table. It refuses a table that holds data unless `merge`,
 * checks every line first (nothing is written when one is bad), then writes with BatchWriteItem
 * (25 items a call, `UnprocessedItems` retried with backoff and jitter) at most `maxWcu` units per
 * second, recording after each batch the last line written in a checkpoint file. Every write is a
 * Put of the whole item, so writing a batch again after a crash leaves the same item: a resumed
 * import ends exactly like an uninterrupted one (counters are attributes, never added to). With
 * `merge`, user items are Put one by one with the higher of the two session epochs
 * (`putUserKeepingEpoch`), which a second write reads back the same.
 */
export async function importTable(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const file = resolve(options.file);
  if (!existsSync(file)) throw new ImportRefused(`${options.file} does not exist`);
  const checkpointPath = options.checkpointFile ?? `${file}.checkpoint.json`;
  const { items, sha256 } = await validate(file);

  let checkpoint: Checkpoint;
  if (options.resume) {
    if (!existsSync(checkpointPath)) throw new ImportRefused(`--resume: no checkpoint at ${checkpointPath}`);
    checkpoint = JSON.parse(await readFile(checkpointPath, 'utf8')) as Checkpoint;
    if (checkpoint.sha256 !== sha256 || checkpoint.tableName !== options.tableName)
      throw new ImportRefused(
        `--resume: the checkpoint at ${checkpointPath} belongs to another file or table (${checkpoint.tableName})`,
      );
  } else {
    if (existsSync(checkpointPath))
      throw new ImportRefused(
        `An interrupted import left ${checkpointPath}: continue it with --resume, or delete the file to start over.`,
      );
    if (!options.merge && (await holdsData(options.client, options.tableName)))
      throw new ImportRefused(
        `Table ${options.tableName} already holds items; import into an empty table, or pass --merge to overwrite items with the same keys.`,
      );
    if (!options.merge) await replaceMigrationRecords(options.client, options.tableName);
    const now = systemClock.now().toISOString();
    checkpoint = { file, sha256, tableName: options.tableName, linesDone: 0, items, startedAt: now, updatedAt: now };
    await saveCheckpoint(checkpointPath, checkpoint);
  }

  const resumedAfterLine = checkpoint.linesDone;
  const limiter = new CapacityLimiter(options.maxWcu);
  const progress = createProgress({ label: 'import', total: items, stream: options.progress });
  let written = 0;
  let consumedWcu = 0;
  let batch: { item: Item; line: number }[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    // A merge writes user items one by one, never lowering their session epoch; the rest in batches.
    const users = options.merge ? batch.filter(({ item }) => isUserItem(item)) : [];
    for (const { item } of users) {
      const estimateOne = estimateWcu(item);
      await limiter.take(estimateOne);
      const consumed = await putUserKeepingEpoch(options.client, options.tableName, item);
      consumedWcu += consumed;
      limiter.settle(estimateOne, consumed);
    }
    const rest = users.length > 0 ? batch.filter(({ item }) => !isUserItem(item)) : batch;
    const estimate = rest.reduce((sum, entry) => sum + estimateWcu(entry.item), 0);
    let estimateLeft = estimate;
    await batchWriteRaw(
      options.client,
      options.tableName,
      rest.map(({ item }) => ({ PutRequest: { Item: item } })),
      {
        ...options.batch,
        beforeCall: () => limiter.take(estimateLeft),
        afterCall: (consumed) => {
          consumedWcu += consumed;
          limiter.settle(estimateLeft, consumed);
          estimateLeft = 0; // retries are paced by the backoff; their real cost is settled as reported
        },
      },
    );
    written += batch.length;
    checkpoint.linesDone = batch[batch.length - 1].line;
    checkpoint.updatedAt = systemClock.now().toISOString();
    await saveCheckpoint(checkpointPath, checkpoint);
    progress.update(checkpoint.linesDone);
    batch = [];
    if (options.signal?.aborted) throw new ImportInterrupted(checkpoint.linesDone);
  };

  let lineNumber = 0;
  for await (const line of lines(file)) {
    lineNumber++;
    if (lineNumber <= resumedAfterLine) continue;
    const item = parseExportLine(line);
    // BatchWriteItem refuses two writes of one key in a call: the later line goes in the next call.
    if (batch.some((entry) => keyOf(entry.item) === keyOf(item))) await flush();
    batch.push({ item, line: lineNumber });
    if (batch.length === 25) await flush();
  }
  await flush();
  progress.finish();
  await rm(checkpointPath, { force: true });

  const countProblems = options.checkCounts ? await options.checkCounts() : [];
  return {
    written,
    items,
    resumedAfterLine,
    consumedWcu,
    seconds: (performance.now() - started) / 1000,
    countProblems,
  };
}
