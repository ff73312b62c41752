import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sweepEndedSessions } from '../admin-tools/session-sweep.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { failCommand, runWithAppContext } from './app-context.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'npm run sessions:sweep-ended [-- --dry-run]';

/**
 * `npm run sessions:sweep-ended [-- --dry-run]`: deletes the items of sessions their user's
 * `sessionEpoch` has ended (see `src/admin-tools/session-sweep.ts`); run it before rolling back past
 * the build that introduced the epoch (docs/operations.md). `--dry-run` only counts them. One Scan
 * of the table: operations tooling, not a request path.
 */
try {
  const { values } = parseCommandLine(process.argv.slice(2), { 'dry-run': { type: 'boolean' } }, USAGE);
  const dryRun = values['dry-run'] === true;
  await runWithAppContext(async (context) => {
    const result = await sweepEndedSessions(
      context.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT),
      context.get<string>(DYNAMODB_TABLE_NAME),
      { dryRun },
    );
    console.log(
      `Scanned ${result.scannedItems} items; ${result.endedSessions} ended session(s) of ${result.users} user(s).`,
    );
    if (!dryRun) console.log(`Deleted ${result.deletedItems} item(s).`);
  });
} catch (error) {
  failCommand(error, error instanceof UsageError ? 2 : 1);
}
