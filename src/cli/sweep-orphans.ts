import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sweepOrphans } from '../admin-tools/orphan-sweep.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { failCommand, runWithAppContext } from './app-context.js';

/** `npm run db:sweep-orphans [-- --dry-run]`: see `src/admin-tools/orphan-sweep.ts`. */
const dryRun = process.argv.includes('--dry-run');

runWithAppContext(async (context) => {
  const result = await sweepOrphans(
    context.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT),
    context.get<string>(DYNAMODB_TABLE_NAME),
    dryRun,
  );
  console.log(`Scanned ${result.scannedItems} items; ${result.orphanPartitions.length} orphan partition(s).`);
  for (const pk of result.orphanPartitions) console.log(`  ${pk}`);
  if (!dryRun) console.log(`Deleted ${result.deletedItems} item(s).`);
}).catch(failCommand);
