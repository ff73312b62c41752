import type { DynamoDBDocumentClient, NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './batch.js';
import type { ItemKey } from './keys.js';

type Item = Record<string, NativeAttributeValue>;

/**
 * A read that another repository's read can carry: its keys, and how to make sense of the items
 * found. The read side of `TransactionPart`: a request path that needs items owned by two
 * modules (a sign-in's failure counters and its email item) pays one call, not two.
 */
export interface ReadPart<T> {
  keys: readonly ItemKey[];
  /** Gets every item the shared call found (others' too): it picks its own by key. */
  decode(items: readonly Item[]): T;
}

/** The item of `key` among `items`, if found. */
export const itemAt = (items: readonly Item[], key: ItemKey): Item | undefined =>
  items.find((item) => item.PK === key.PK && item.SK === key.SK);

/** Both parts in one strongly consistent BatchGetItem (absent keys and unprocessed retries as in batchGetAll). */
export async function readTogether<A, B>(
  db: DynamoDBDocumentClient,
  tableName: string,
  first: ReadPart<A>,
  second: ReadPart<B>,
): Promise<[A, B]> {
  const items = await batchGetAll(db, tableName, [...first.keys, ...second.keys], { consistentRead: true });
  return [first.decode(items), second.decode(items)];
}
