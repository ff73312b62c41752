import { MIGRATIONS } from '../migrations/index.js';
import { formatVersion, migrationLabel } from '../migrations/migration.js';
import { MigrationInterrupted, runMigrations } from '../migrations/runner.js';
import { migrationStatuses, readMigrationState } from '../migrations/state.js';
import { failCommand, runWithDatabase, TABLE_TOOL } from './app-context.js';
import { intOption, parseCommandLine, UsageError } from './args.js';

const USAGE = 'npm run db:migrate -- [status] [--dry-run] [--page-size N] [--max-rcu N] [--max-wcu N]';

/**
 * `npm run db:migrate`: applies the pending migrations of `src/migrations/` in order (see
 * `src/migrations/runner.ts`); `status` lists applied and pending ones; `--dry-run` prints what
 * would change. Ctrl+C stops after the page in flight; running it again continues.
 */
try {
  const { values, positionals } = parseCommandLine(
    process.argv.slice(2),
    {
      'dry-run': { type: 'boolean' },
      'page-size': { type: 'string' },
      'max-rcu': { type: 'string' },
      'max-wcu': { type: 'string' },
    },
    USAGE,
    true,
  );
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'status'))
    throw new UsageError(`unknown argument ${positionals.join(' ')}`, USAGE);
  const status = positionals[0] === 'status';
  const pageSize = intOption(values['page-size'], 'page-size', 100, 1, 1000, USAGE);
  const maxRcu = intOption(values['max-rcu'], 'max-rcu', undefined, 1, 1_000_000, USAGE);
  const maxWcu = intOption(values['max-wcu'], 'max-wcu', undefined, 1, 1_000_000, USAGE);

  const stop = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nStopping after the page in flight (Ctrl+C again to quit at once)...');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  runWithDatabase(async ({ client, tableName }) => {
    if (status) {
      const state = await readMigrationState(client, tableName);
      console.log(`Migrations of ${tableName} (created at layout ${state.baseline}):`);
      for (const { migration, state: where, record } of migrationStatuses(MIGRATIONS, state)) {
        const detail =
          where === 'applied'
            ? `applied ${record!.startedAt} - ${record!.finishedAt}, ${record!.changed} changed` +
              (record!.skipped ? `, ${record!.skipped} skipped` : '')
            : where === 'running'
              ? `running since ${record!.startedAt} (or stopped): ${record!.scanned} read, ${record!.changed} changed so far`
              : where === 'baseline'
                ? 'not needed (the table was created at this layout)'
                : 'pending';
        console.log(`  ${migrationLabel(migration)}${migration.online ? ' (online)' : ''}: ${detail}`);
      }
      if (MIGRATIONS.length === 0) console.log('  none defined');
      return;
    }
    const runs = await runMigrations({
      client,
      tableName,
      migrations: MIGRATIONS,
      dryRun: values['dry-run'] === true,
      pageSize,
      maxRcu,
      maxWcu,
      signal: stop.signal,
      log: (line) => console.log(line),
    });
    if (runs.length === 0)
      console.log(`Nothing to migrate: ${tableName} is at layout ${formatVersion(MIGRATIONS.at(-1)?.version ?? 0)}.`);
  }, TABLE_TOOL).catch((error: unknown) => failCommand(error, error instanceof MigrationInterrupted ? 130 : 1));
} catch (error) {
  failCommand(error, 2);
}
