import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { cancellationReasons, isTransactionCanceled } from './dynamo-errors.js';
import { type TransactItem, type TransactOperation, MAX_TRANSACTION_ITEMS, transactWrite } from './transactions.js';

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

/**
 * A marker and the counter that counts it (distinct items, and distinct from every other pair's).
 * The counter may carry a condition that its owner is there (a reader's `FEED#DAYS`, meant to exist
 * exactly while the reader does; nothing enforces it, review 15b M-D1): when it fails, nothing is to
 * be written for that owner, unless the caller finds the owner there and makes the counter item.
 */
export interface CountedMarker {
  marker: TransactItem;
  counter: TransactItem;
}

/** Pairs of one transaction: DynamoDB's 100 items. */
export const MARKERS_PER_TRANSACTION = MAX_TRANSACTION_ITEMS / 2;

const MAX_CONFLICT_ROUNDS = 8;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What `writeCountedMarkers` does with the pairs whose counter condition failed. */
export interface CountedMarkersOptions {
  /**
   * Called once per transaction group with its pairs whose counter's condition failed (and whose
   * marker's did not): the owner is gone, or only their counter item is missing (review 15b M-D1).
   * Returns the pairs to send once more (their counter item made since); the others are dropped.
   */
  onCounterMissing?: (pairs: readonly CountedMarker[]) => Promise<readonly CountedMarker[]>;
}

/**
 * Many counted markers (the fan-out's timeline entries with their readers' day counts), 50 pairs
 * a transaction, each marker carrying its own condition. A pair whose marker condition fails
 * (written already, or gone already) is done, and so is one whose counter condition fails (its
 * owner is gone: nothing is to be written for them, unless `onCounterMissing` hands it back): the
 * transaction is cancelled, and sent again without it, so a replayed batch, or one resumed after a
 * crash, counts each marker once. Returns how many markers this call wrote (or removed).
 */
export async function writeCountedMarkers(
  client: DynamoDBDocumentClient,
  pairs: readonly CountedMarker[],
  { onCounterMissing }: CountedMarkersOptions = {},
): Promise<number> {
  let written = 0;
  for (let start = 0; start < pairs.length; start += MARKERS_PER_TRANSACTION) {
    const group = await sendPairs(client, pairs.slice(start, start + MARKERS_PER_TRANSACTION));
    written += group.written;
    if (group.counterFailed.length === 0 || !onCounterMissing) continue;
    const again = await onCounterMissing(group.counterFailed);
    // Once: a counter still missing now means its owner went meanwhile.
    if (again.length > 0) written += (await sendPairs(client, again)).written;
  }
  return written;
}

/** One transaction's pairs, sent again without those found done until the rest commits. */
async function sendPairs(
  client: DynamoDBDocumentClient,
  pairs: readonly CountedMarker[],
): Promise<{ written: number; counterFailed: CountedMarker[] }> {
  let pending = [...pairs];
  const counterFailed: CountedMarker[] = [];
  let conflicts = 0;
  while (pending.length > 0) {
    try {
      await client.send(
        new TransactWriteCommand({ TransactItems: pending.flatMap((pair) => [pair.marker, pair.counter]) }),
      );
      return { written: pending.length, counterFailed };
    } catch (error) {
      if (!isTransactionCanceled(error)) throw error;
      const reasons = cancellationReasons(error);
      // Each pair is 2 items from its marker: a failed marker or counter means it is done.
      const failed = reasons.filter((r) => r.code === 'ConditionalCheckFailed');
      const done = new Set(failed.map((r) => Math.floor(r.index / 2)));
      const markerFailed = new Set(failed.filter((r) => r.index % 2 === 0).map((r) => r.index / 2));
      for (const i of done) if (!markerFailed.has(i)) counterFailed.push(pending[i]);
      const conflicted = reasons.some((r) => r.code === 'TransactionConflict');
      if (done.size === 0) {
        if (!conflicted || conflicts >= MAX_CONFLICT_ROUNDS) throw error;
        await pause(Math.min(400, 10 * 2 ** conflicts++) * (0.5 + Math.random()));
      }
      pending = pending.filter((_, i) => !done.has(i));
    }
  }
  return { written: 0, counterFailed };
}

/** Markers of one owner that share one counter item (a reader's timeline entries and their `FEED#DAYS`). */
export interface SharedCounterMarkers {
  /** Each carries its own condition (`attribute_exists` for a removal): a failed one is done already. */
  markers: readonly TransactItem[];
  /**
   * The counter's change for the markers of one transaction (indexes into `markers`). When its
   * condition fails (the owner is gone, or only their `FEED#DAYS` is missing: review 15b M-D1),
   * nothing more is written.
   */
  counter: (indexes: readonly number[]) => TransactItem;
}

/**
 * Many markers that one counter item counts (a reader's entries of one author, removed with their
 * days' `-1`): up to 99 markers a transaction after the counter's summed change. A marker whose
 * own condition fails is done already and the transaction is sent again without it, so a replay
 * counts nothing twice. A failed counter condition stops everything (`stopped`): the owner is gone
 * (an erased reader), and nothing is to be written for them.
 */
export async function writeSharedCounterMarkers(
  client: DynamoDBDocumentClient,
  write: SharedCounterMarkers,
): Promise<{ written: number; stopped: boolean }> {
  const perTransaction = MAX_TRANSACTION_ITEMS - 1;
  let written = 0;
  for (let start = 0; start < write.markers.length; start += perTransaction) {
    let pending = write.markers.slice(start, start + perTransaction).map((_, i) => start + i);
    let conflicts = 0;
    while (pending.length > 0) {
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [write.counter(pending), ...pending.map((index) => write.markers[index])],
          }),
        );
        written += pending.length;
        break;
      } catch (error) {
        if (!isTransactionCanceled(error)) throw error;
        const reasons = cancellationReasons(error);
        if (reasons[0]?.code === 'ConditionalCheckFailed') return { written, stopped: true };
        // Markers follow the counter: those whose own condition failed need nothing more.
        const done = new Set(
          reasons.filter((r) => r.code === 'ConditionalCheckFailed' && r.index >= 1).map((r) => r.index - 1),
        );
        const conflicted = reasons.some((r) => r.code === 'TransactionConflict');
        if (done.size === 0) {
          if (!conflicted || conflicts >= MAX_CONFLICT_ROUNDS) throw error;
          await pause(Math.min(400, 10 * 2 ** conflicts++) * (0.5 + Math.random()));
        }
        pending = pending.filter((_, i) => !done.has(i));
      }
    }
  }
  return { written, stopped: false };
}
