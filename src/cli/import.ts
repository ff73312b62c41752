import { ImportInterrupted, importTable } from '../admin-tools/import/table-import.js';
import { failCommand, runWithDatabase, TABLE_TOOL } from './app-context.js';
import { intOption, parseCommandLine, UsageError } from './args.js';

const USAGE = 'npm run db:import -- --in FILE[.gz] [--merge] [--max-wcu N] [--resume] [--checkpoint FILE]';

/**
 * `npm run db:import -- --in backup.ndjson.gz`: loads an export into the configured table (see
 * `src/admin-tools/import/table-import.ts`). Ctrl+C stops after the batch in flight; `--resume`
 * continues. Ends with the count check of `db:check-counts`.
 */
try {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    {
      in: { type: 'string' },
      merge: { type: 'boolean' },
      'max-wcu': { type: 'string' },
      resume: { type: 'boolean' },
      checkpoint: { type: 'string' },
    },
    USAGE,
  );
  if (typeof values.in !== 'string' || values.in === '') throw new UsageError('--in is required', USAGE);
  const file = values.in;
  const maxWcu = intOption(values['max-wcu'], 'max-wcu', undefined, 1, 1_000_000, USAGE);

  const stop = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nStopping after the batch in flight (Ctrl+C again to quit at once)...');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  runWithDatabase(async (database) => {
    const summary = await importTable({
      client: database.client,
      tableName: database.tableName,
      file,
      merge: values.merge === true,
      resume: values.resume === true,
      maxWcu,
      checkpointFile: typeof values.checkpoint === 'string' ? values.checkpoint : undefined,
      signal: stop.signal,
      checkCounts: async () => {
        // Loaded here, with the app context it needs: a command line refused above starts faster.
        const { TaxonomyService } = await import('../taxonomy/taxonomy.service.js');
        const drift = await (await database.appContext()).get(TaxonomyService).tagCountDrift();
        return drift.map((d) => `tag ${d.slug} (${d.tagId}): postCount=${d.postCount}, links=${d.links}`);
      },
    });
    console.log(
      `Imported ${summary.written} items into ${database.tableName}` +
        (summary.resumedAfterLine ? ` (resumed after line ${summary.resumedAfterLine} of ${summary.items})` : '') +
        ` in ${summary.seconds.toFixed(1)} s, ${summary.consumedWcu.toFixed(0)} WCU.`,
    );
    if (summary.countProblems.length > 0) {
      console.log('Count check found drift (run npm run db:check-counts after fixing):');
      for (const problem of summary.countProblems) console.log(`  ${problem}`);
      process.exitCode = 1;
    } else {
      console.log('Count check: clean.');
    }
  }, TABLE_TOOL).catch((error: unknown) => failCommand(error, error instanceof ImportInterrupted ? 130 : 1));
} catch (error) {
  failCommand(error, 2);
}
