import { defaultSegments, exportTable } from '../admin-tools/export/table-export.js';
import { formatBytes } from '../admin-tools/progress.js';
import { failCommand, runWithDatabase, TABLE_TOOL } from './app-context.js';
import { intOption, parseCommandLine, UsageError } from './args.js';

const USAGE = 'npm run db:export -- --out FILE[.gz] [--segments N]';

/**
 * `npm run db:export -- --out backup.ndjson.gz`: every item of the configured table as NDJSON of
 * DynamoDB JSON, read with a parallel Scan (see `src/admin-tools/export/table-export.ts`).
 */
try {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    { out: { type: 'string' }, segments: { type: 'string' } },
    USAGE,
  );
  if (typeof values.out !== 'string' || values.out === '') throw new UsageError('--out is required', USAGE);
  const out = values.out;
  const segments = intOption(values.segments, 'segments', defaultSegments(), 1, 1000, USAGE)!;
  runWithDatabase(async ({ client, tableName }) => {
    const summary = await exportTable({ client, tableName, out, segments });
    console.log(
      `Exported ${summary.items} items of ${tableName} to ${out}: ${formatBytes(summary.bytes)}` +
        `${out.endsWith('.gz') ? ` (${formatBytes(summary.rawBytes)} uncompressed)` : ''}` +
        ` in ${summary.seconds.toFixed(1)} s, ${summary.segments} segment(s).`,
    );
  }, TABLE_TOOL).catch(failCommand);
} catch (error) {
  failCommand(error, 2);
}
