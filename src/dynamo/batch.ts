import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest as RawWriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  type NativeAttributeValue,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './keys.js';

type Item = Record<string, NativeAttributeValue>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

/** DynamoDB's limits per call. */
export const MAX_BATCH_WRITE = 25;
export const MAX_BATCH_GET = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Exponential backoff with jitter (50-150% of 25 ms x 2^attempt, at most 3 s): retries of many clients spread out. */
export const backoff = (attempt: number): number => Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random());

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

export class UnprocessedItemsError extends Error {
  constructor(readonly remaining: number) {
    super(`${remaining} batch item(s) were still unprocessed after all retries`);
    this.name = 'UnprocessedItemsError';
  }
}

export interface BatchWriteOptions<R> {
  /** Calls per chunk before giving up (the first call plus retries of what stayed unprocessed). */
  maxAttempts?: number;
  /** Waits before each call, e.g. for a capacity budget; gets the requests about to be sent. */
  beforeCall?: (requests: readonly R[]) => Promise<void>;
  /** Gets the write capacity each call consumed (as DynamoDB reports it, GSI writes included). */
  afterCall?: (consumedWcu: number) => void;
  /** Called when a chunk is completely written, in order. */
  onChunkWritten?: (written: number) => Promise<void> | void;
  /** The pause before retry `attempt` (default: exponential backoff with jitter). */
  retryDelayMs?: (attempt: number) => number;
}

/**
 * The one retry loop of BatchWriteItem: chunks of 25, `UnprocessedItems` sent again after a
 * growing, jittered pause until nothing is left; after `maxAttempts` calls it throws, so nothing
 * is dropped silently. `send` makes one call and returns what stayed unprocessed.
 */
async function writeInChunks<R>(
  requests: readonly R[],
  send: (pending: R[]) => Promise<{ unprocessed: R[]; consumedWcu: number }>,
  options: BatchWriteOptions<R>,
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 8;
  const delay = options.retryDelayMs ?? backoff;
  for (const part of chunk(requests, MAX_BATCH_WRITE)) {
    let pending: R[] = part;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError(pending.length);
      if (attempt > 0) await sleep(delay(attempt));
      await options.beforeCall?.(pending);
      const result = await send(pending);
      options.afterCall?.(result.consumedWcu);
      pending = result.unprocessed;
    }
    await options.onChunkWritten?.(part.length);
  }
}

/** Writes any number of puts/deletes of plain JavaScript items (the document client). */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions<WriteRequest> = {},
): Promise<void> {
  await writeInChunks(
    requests,
    async (pending) => {
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      return {
        unprocessed: (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[],
        consumedWcu: result.ConsumedCapacity?.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) ?? 0,
      };
    },
    options,
  );
}

/**
 * Deletes every item of one partition of the table (not an index), a page of keys at a time: each
 * page is read strongly consistent, so an item written just before is seen, and deleted before the
 * next is read, so memory stays at one page however large the collection. Items `keep` names stay.
 * `companion` names an item outside the partition that goes with one inside it (a comment's
 * pointer), deleted in the same batch. Deleting what is gone is fine, so a run cut short is
 * finished by running it again. Returns how many items it deleted.
 */
export async function deletePartition(
  client: DynamoDBDocumentClient,
  tableName: string,
  partitionKey: string,
  keep: (key: ItemKey) => boolean = () => false,
  companion: (key: ItemKey) => ItemKey | undefined = () => undefined,
): Promise<number> {
  let deleted = 0;
  let ExclusiveStartKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': partitionKey },
        ProjectionExpression: 'PK, SK',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    const keys = ((page.Items ?? []) as ItemKey[])
      .filter((key) => !keep(key))
      .flatMap((key) => [key, ...[companion(key)].filter((other) => other !== undefined)]);
    await batchWriteAll(
      client,
      tableName,
      keys.map((key) => ({ DeleteRequest: { Key: { PK: key.PK, SK: key.SK } } })),
    );
    deleted += keys.length;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return deleted;
}

export type { RawWriteRequest };
export type RawItem = Record<string, AttributeValue>;

/**
 * Writes items given in DynamoDB's own attribute-value form (the low-level client), so that
 * types survive exactly (no number or set conversion): what `db:import` and migrations write.
 */
export async function batchWriteRaw(
  client: DynamoDBClient,
  tableName: string,
  requests: readonly RawWriteRequest[],
  options: BatchWriteOptions<RawWriteRequest> = {},
): Promise<void> {
  await writeInChunks(
    requests,
    async (pending) => {
      const result = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
      );
      return {
        unprocessed: result.UnprocessedItems?.[tableName] ?? [],
        consumedWcu: result.ConsumedCapacity?.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) ?? 0,
      };
    },
    options,
  );
}

/**
 * Reads any number of keys in chunks of 100, retrying `UnprocessedKeys` with backoff.
 * Returns the items found (absent keys are simply missing), in no particular order.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly ItemKey[],
  { consistentRead = false, maxAttempts = 8 }: { consistentRead?: boolean; maxAttempts?: number } = {},
): Promise<Item[]> {
  const found: Item[] = [];
  const unique = [...new Map(keys.map((key) => [`${key.PK}\u0000${key.SK}`, key])).values()];
  for (const part of chunk(unique, MAX_BATCH_GET)) {
    let pending: ItemKey[] = part;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError(pending.length);
      if (attempt > 0) await sleep(backoff(attempt));
      const result = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistentRead } } }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as ItemKey[];
    }
  }
  return found;
}
