import {
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './keys.js';
import { cancellationReasons, DatabaseError, isTransactionCanceled, translateDynamoError } from './dynamo-errors.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One item of a transaction and the domain error its failed condition means. */
export interface TransactOperation {
  item: TransactItem;
  /** Raised when this item's ConditionExpression fails (e.g. "email taken"). */
  onConditionFailed?: () => Error;
}

/**
 * A write that a module owns, ready to join another module's transaction: one operation or
 * several (a post's links and counts, a slug swap). Modules export parts, not their
 * repositories: posts add taxonomy's "link this post" part to the post's save, comments add
 * posts' "comment count change" to the comment's write, and each part keeps its own error for
 * its own failed condition.
 */
export type TransactionPart = TransactOperation | readonly TransactionPart[];

/** DynamoDB's limit on items per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;

/** A transaction composed of more items than DynamoDB takes: a bug of the caller, never a client's 4xx. */
export class TransactionTooLargeError extends Error {
  constructor(readonly items: number) {
    super(`A transaction takes at most ${MAX_TRANSACTION_ITEMS} items (got ${items})`);
    this.name = 'TransactionTooLargeError';
  }
}

/**
 * The transaction builder: flattens the parts of several modules into the operations of one
 * TransactWriteItems, in order (the order is the CancellationReasons index that maps a failed
 * condition back to its part's error), and refuses more than DynamoDB's 100 items.
 */
export function composeTransaction(...parts: TransactionPart[]): TransactOperation[] {
  const operations: TransactOperation[] = [];
  const add = (part: TransactionPart) => {
    if (isOperation(part)) operations.push(part);
    else for (const inner of part) add(inner);
  };
  for (const part of parts) add(part);
  if (operations.length > MAX_TRANSACTION_ITEMS) throw new TransactionTooLargeError(operations.length);
  return operations;
}

const isOperation = (part: TransactionPart): part is TransactOperation => !Array.isArray(part);

/** A transaction part that writes nothing and requires the item to exist (`onMissing` otherwise). */
export function mustExist(tableName: string, key: ItemKey, onMissing: () => Error): TransactOperation {
  return {
    item: { ConditionCheck: { TableName: tableName, Key: key, ConditionExpression: 'attribute_exists(PK)' } },
    onConditionFailed: onMissing,
  };
}

/** The new item was there already, or its owner is gone (`putNewWhileOwnerExists`). */
class NotPut extends Error {}

/**
 * Puts a new item (`attribute_not_exists`) in one transaction with a check that its owner's item
 * exists: true when it was put, false when it was there already or the owner is gone. For items a
 * late or replayed stream record writes into a user's partition: after the user's erasure, such a
 * write would put an item back into the erased partition (review 13 L-a3, review 14 L-C1).
 */
export async function putNewWhileOwnerExists(
  db: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown> & ItemKey,
  owner: ItemKey,
): Promise<boolean> {
  try {
    await transactWrite(db, [
      {
        item: { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => new NotPut(),
      },
      mustExist(tableName, owner, () => new NotPut()),
    ]);
    return true;
  } catch (error) {
    if (error instanceof NotPut) return false;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors thrown for a transaction that DynamoDB definitely cancelled (see `wasCanceled`). */
const canceledErrors = new WeakSet<object>();
const markCanceled = <E>(error: E): E => {
  if (typeof error === 'object' && error !== null) canceledErrors.add(error);
  return error;
};

/**
 * True when `error` (thrown by `transactWrite`) means DynamoDB cancelled the transaction, so none
 * of it was written. False for an unknown outcome (a timeout, a dropped connection, a 500): the
 * transaction may have committed, so a caller must not undo what it wrote beside it.
 */
export const wasCanceled = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && canceledErrors.has(error);

/**
 * True when `error`, thrown by a write, means that nothing of it was written: DynamoDB cancelled
 * the transaction (`wasCanceled`: a condition, a conflict, a throttled item), or the call was never
 * sent (`DatabaseError.unsent`: the gate's queue was full or its wait ran out, or an earlier call
 * of the same request had timed out). False for every unknown outcome: a timeout or a cut
 * connection once the call was sent (the lean transport's `TimeoutError`, `ECONNRESET`, an odd
 * answer), a 5xx, anything else; the write may have committed. Undo work done ahead of a write
 * (give back a limit's count, remove a pointer) only when this is true: after an unknown outcome,
 * keeping it is the safe side. Not a single-item write's ConditionalCheckFailedException: a retry
 * of a write that committed unseen fails its own condition (TransactWriteItems carries an
 * idempotency token, so a retried transaction does not).
 */
export const nothingWritten = (error: unknown): boolean =>
  wasCanceled(error) || (error instanceof DatabaseError && error.unsent);

/**
 * Runs the parts as one TransactWriteItems (see `composeTransaction`) and turns a cancellation
 * into the domain error of the first item whose condition failed. A cancellation caused only by `TransactionConflict` (another
 * transaction touching the same item at the same moment) is retried with jittered backoff,
 * because the retry will then see the winner's write and fail on the real condition.
 */
export async function transactWrite(
  client: DynamoDBDocumentClient,
  parts: readonly TransactionPart[],
  { maxConflictRetries = 8 }: { maxConflictRetries?: number } = {},
): Promise<void> {
  const operations = composeTransaction(...parts);
  if (operations.length === 0) return;
  for (let attempt = 0; ; attempt++) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: operations.map((op) => op.item) }));
      return;
    } catch (error) {
      if (!isTransactionCanceled(error)) throw translateDynamoError(error) ?? error;
      const reasons = cancellationReasons(error);
      const failed = reasons.find((r) => r.code === 'ConditionalCheckFailed');
      if (failed) {
        const mapper = operations[failed.index]?.onConditionFailed;
        throw markCanceled(mapper ? mapper() : error);
      }
      const conflicted = reasons.some((r) => r.code === 'TransactionConflict');
      if (conflicted && attempt < maxConflictRetries) {
        await sleep(Math.min(400, 10 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      throw markCanceled(translateDynamoError(error) ?? error);
    }
  }
}

/**
 * Runs a single-item write again while DynamoDB answers `TransactionConflictException`: the item
 * is held by a transaction in progress (a sign-in at the session cap deleting it, review 15a L2).
 * Neither the SDK nor the lean transport retries that error (it is not in smithy's retryable set),
 * and it maps to `503 transaction_conflict`; once the transaction is over, the write sees its
 * outcome (the item gone: its own condition fails). Bounded: `attempts` in all.
 */
export async function retryWhileHeldByTransaction<T>(write: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const held = (error as { name?: unknown } | null)?.name === 'TransactionConflictException';
      if (!held || attempt >= attempts) throw error;
      await sleep(Math.min(200, 10 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}
