import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { Keys } from '../dynamo/keys.js';
import { createProgress, type ProgressStream } from './progress.js';
import { scanPages } from './scan-pages.js';

export interface StuckErasure {
  userId: string;
  erasureRequestedAt: string;
}

/**
 * The youngest erasure `users:finish-erasures` may finish, in minutes (session 19; 0 was accepted
 * before). An erase asked for more recently may still be running (its first request): the sweep
 * would walk the same content alongside it, and the two would run into each other's conditions (a
 * 412 read again, a 503 the owner sees). A retry of an older one (the owner's, an admin's hard
 * delete) is not protected: the marker keeps the first request's time (review 19b L5). Not a safety rule for the data: both
 * walks skip what is done and the account's delete is conditioned, so an overlap with a longer
 * erase (an author of very many posts) costs retries, not content; the minimum keeps the common
 * case apart.
 */
export const MIN_ERASURE_AGE_MINUTES = 10;

export interface ErasureSweepOptions {
  /** Erasures asked for at least this long ago are finished; younger ones may still be running. */
  olderThanMinutes: number;
  now: Date;
  /** Only report: nothing is erased. */
  dryRun?: boolean;
  /** Where progress goes (stderr by default). */
  progress?: ProgressStream;
}

export interface ErasureSweepResult {
  scannedItems: number;
  /** The accounts whose erasure was asked for before the cutoff, oldest first. */
  stuck: StuckErasure[];
  /** Those finished (none with `dryRun`). */
  finished: string[];
  /** Those whose erase failed again, with why (the command exits non-zero). */
  failed: { userId: string; error: string }[];
  /** Those no longer marked on a fresh read (revived since the Scan, review 18d H1): left as they are. */
  skipped: string[];
}

/**
 * Admin tooling, never a request path (`npm run users:finish-erasures`, review 17a L1): finds the
 * accounts a hard delete or self-erasure suspended for erasure (`erasureRequestedAt` on the user
 * item) at least `olderThanMinutes` ago and did not finish (a throttle, a timeout, a process that
 * died), and runs `finish` (`UserErasureWorkflow.finishMarkedErasure`) on each, one after the
 * other: it erases only while a fresh read still carries the marker and answers false when it does
 * not (an account an admin revived since the Scan: skipped, review 18d H1). One Scan of the user
 * items (keys and the marker only); an account erased meanwhile is the erase's 404, counted as
 * finished.
 */
export async function finishStuckErasures(
  client: DynamoDBDocumentClient,
  tableName: string,
  finish: (userId: string) => Promise<boolean>,
  options: ErasureSweepOptions,
): Promise<ErasureSweepResult> {
  const cutoff = new Date(options.now.getTime() - options.olderThanMinutes * 60_000).toISOString();
  const progress = createProgress({ label: 'erasures', total: 0, stream: options.progress });
  const stuck: StuckErasure[] = [];
  let scannedItems = 0;
  const pages = scanPages(
    client,
    {
      TableName: tableName,
      ProjectionExpression: 'PK, erasureRequestedAt',
      FilterExpression: 'begins_with(PK, :users) AND SK = :user AND erasureRequestedAt <= :cutoff',
      ExpressionAttributeValues: { ':users': Keys.userPartition(''), ':user': Keys.user('').SK, ':cutoff': cutoff },
      ConsistentRead: true,
    },
    { onProgress: (scanned) => progress.update(scanned) },
  );
  for await (const page of pages) {
    scannedItems += page.scanned;
    for (const item of page.items as { PK: string; erasureRequestedAt: string }[])
      stuck.push({ userId: item.PK.slice(Keys.userPartition('').length), erasureRequestedAt: item.erasureRequestedAt });
  }
  progress.finish();
  stuck.sort((a, b) => (a.erasureRequestedAt < b.erasureRequestedAt ? -1 : 1));

  const finished: string[] = [];
  const failed: ErasureSweepResult['failed'] = [];
  const skipped: string[] = [];
  if (!options.dryRun) {
    for (const { userId } of stuck) {
      try {
        if (await finish(userId)) finished.push(userId);
        else skipped.push(userId);
      } catch (error) {
        // Gone meanwhile (its owner's retry, another run): finished all the same.
        if (error instanceof DomainError && error.code === ErrorCode.UserNotFound) finished.push(userId);
        else failed.push({ userId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return { scannedItems, stuck, finished, failed, skipped };
}
