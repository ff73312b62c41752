import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  type NativeAttributeValue,
} from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './keys.js';

type Item = Record<string, NativeAttributeValue>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

/** DynamoDB's limits per call. */
export const MAX_BATCH_WRITE = 25;
export const MAX_BATCH_GET = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt: number) => Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random());

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

/**
 * Writes any number of puts/deletes in chunks of 25, retrying `UnprocessedItems` with
 * exponential backoff. Nothing is dropped silently: after `maxAttempts` it throws.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  { maxAttempts = 8 }: { maxAttempts?: number } = {},
): Promise<void> {
  for (const part of chunk(requests, MAX_BATCH_WRITE)) {
    let pending: WriteRequest[] = part;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError(pending.length);
      if (attempt > 0) await sleep(backoff(attempt));
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
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
