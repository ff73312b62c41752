import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type TransactItem, type TransactOperation, transactWrite } from './transactions.js';

/** The marker's own condition failed: the like exists already, or there is none to remove. */
class MarkerUnchanged extends Error {}

/**
 * Writes a marker item (a like) and the counter that counts such markers in one transaction.
 * The marker's Put or Delete carries its own condition (`attribute_not_exists` / `attribute_exists`);
 * when that fails nothing changes and the answer is false, so repeating a like or an unlike is
 * harmless and the count stays exact under any concurrency. `guards` (condition checks on other
 * items, e.g. that the parent still exists) join the same transaction.
 */
export async function writeCountedMarker(
  client: DynamoDBDocumentClient,
  marker: TransactItem,
  counter: TransactItem,
  onCounterConditionFailed?: () => Error,
  guards: TransactOperation[] = [],
): Promise<boolean> {
  try {
    await transactWrite(client, [
      { item: marker, onConditionFailed: () => new MarkerUnchanged() },
      { item: counter, onConditionFailed: onCounterConditionFailed },
      ...guards,
    ]);
    return true;
  } catch (error) {
    if (error instanceof MarkerUnchanged) return false;
    throw error;
  }
}
