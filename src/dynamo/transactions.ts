import {
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { DomainError } from '../common/errors/domain-error.js';
import { cancellationReasons, isTransactionCanceled, translateDynamoError } from './dynamo-errors.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One item of a transaction and the domain error its failed condition means. */
export interface TransactOperation {
  item: TransactItem;
  /** Raised when this item's ConditionExpression fails (e.g. "email taken"). */
  onConditionFailed?: () => DomainError | Error;
}

/** DynamoDB's limit on items per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;

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
 * Runs a TransactWriteItems and turns a cancellation into the domain error of the first
 * item whose condition failed. A cancellation caused only by `TransactionConflict` (another
 * transaction touching the same item at the same moment) is retried with jittered backoff,
 * because the retry will then see the winner's write and fail on the real condition.
 */
export async function transactWrite(
  client: DynamoDBDocumentClient,
  operations: TransactOperation[],
  { maxConflictRetries = 8 }: { maxConflictRetries?: number } = {},
): Promise<void> {
  if (operations.length === 0) return;
  if (operations.length > MAX_TRANSACTION_ITEMS) {
    throw new Error(`A transaction takes at most ${MAX_TRANSACTION_ITEMS} items (got ${operations.length})`);
  }
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
