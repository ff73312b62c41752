import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { finishStuckErasures, MIN_ERASURE_AGE_MINUTES } from '../admin-tools/erasure-sweep.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { UserErasureWorkflow } from '../workflows/user-erasure.workflow.js';
import { failCommand, runWithAppContext } from './app-context.js';
import { intOption, parseCommandLine, UsageError } from './args.js';

const USAGE = `npm run users:finish-erasures [-- --dry-run] [--older-than-minutes <n, default 60, at least ${MIN_ERASURE_AGE_MINUTES}>]`;

/**
 * `npm run users:finish-erasures`: finishes the erasures a hard delete or self-erasure started
 * (the account suspended, `erasureRequestedAt` set) at least `--older-than-minutes` ago and that did
 * not finish, with the app's own erase, only while a fresh read still carries the marker (see
 * `src/admin-tools/erasure-sweep.ts`). `--dry-run` only
 * lists them. One Scan of the table: operations tooling, not a request path. Exits 1 when an erase
 * failed again.
 */
try {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    { 'dry-run': { type: 'boolean' }, 'older-than-minutes': { type: 'string' } },
    USAGE,
  );
  const dryRun = values['dry-run'] === true;
  const olderThanMinutes = intOption(values['older-than-minutes'], 'older-than-minutes', 60, 0, 525_600, USAGE)!;
  if (olderThanMinutes < MIN_ERASURE_AGE_MINUTES)
    throw new UsageError(
      `--older-than-minutes must be at least ${MIN_ERASURE_AGE_MINUTES}: an erasure asked for more recently may ` +
        'still be running, and the sweep would walk the same content alongside it (a retry of an older one is not ' +
        'told apart: the marker keeps the first request time; the overlap costs retries, not content)',
      USAGE,
    );
  await runWithAppContext(async (context) => {
    const erasure = context.get(UserErasureWorkflow);
    const result = await finishStuckErasures(
      context.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT),
      context.get<string>(DYNAMODB_TABLE_NAME),
      (userId) => erasure.finishMarkedErasure(userId),
      { olderThanMinutes, now: context.get<Clock>(CLOCK).now(), dryRun },
    );
    console.log(
      `Scanned ${result.scannedItems} items; ${result.stuck.length} erasure(s) asked for over ${olderThanMinutes} minute(s) ago.`,
    );
    for (const { userId, erasureRequestedAt } of result.stuck) console.log(`  ${userId} (since ${erasureRequestedAt})`);
    if (!dryRun) console.log(`Finished ${result.finished.length}.`);
    for (const userId of result.skipped) console.log(`  ${userId} skipped: no longer marked (revived meanwhile)`);
    for (const { userId, error } of result.failed) console.error(`  ${userId} failed again: ${error}`);
    if (result.failed.length > 0) process.exitCode = 1;
  });
} catch (error) {
  failCommand(error, error instanceof UsageError ? 2 : 1);
}
