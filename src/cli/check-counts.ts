import { checkCategoryTree, describeCategoryTree } from '../admin-tools/category-check.js';
import { checkCounts, COUNTERS, describeDrift, describeHidden } from '../admin-tools/count-check.js';
import { parseCommandLine } from './args.js';
import { failCommand, runWithDatabase, TABLE_TOOL } from './app-context.js';

const USAGE = 'npm run db:check-counts [-- --fix]';

/**
 * `npm run db:check-counts [-- --fix]`: recounts every exact counter (see
 * `src/admin-tools/count-check.ts`) and prints one line per drifted counter and a summary per
 * kind, and one line per timeline entry of the feed's window the feed never shows (an unfollowed
 * or fan-in author's: not counted). `--fix` sets each drifted counter to its recount and deletes
 * those entries. Then the category tree: the categories unreachable from its roots (parent loops
 * written before session 21, which `GET /categories` does not show), one line per loop; `--fix`
 * moves one member of each loop to the top (src/admin-tools/category-check.ts). Exits 1 while drift,
 * such entries or loops remain (always when found without `--fix`). One Scan of the table:
 * operations tooling, not a request path.
 */
try {
  const { values } = parseCommandLine(process.argv.slice(2), { fix: { type: 'boolean' } }, USAGE);
  const fix = values.fix === true;
  await runWithDatabase(async ({ client, tableName }) => {
    const { checked, drift, hidden } = await checkCounts({ client, tableName, fix });
    for (const h of hidden) console.log(describeHidden(h));
    for (const d of drift) console.log(describeDrift(d));
    for (const counter of COUNTERS) {
      const found = drift.filter((d) => d.counter === counter);
      const left = found.filter((d) => !d.fixed).length;
      console.log(
        `${counter}: ${checked[counter]} checked, ${found.length} drifted` +
          (fix ? `, ${found.length - left} fixed` : ''),
      );
    }
    // Without --fix the hidden entries stay (and the exit code says so); with it, an entry gone
    // meanwhile is gone all the same.
    const hiddenLeft = fix ? 0 : hidden.length;
    console.log(
      `hidden timeline entries: ${hidden.length} found` +
        (fix
          ? `, ${hidden.filter((h) => h.deleted).length} deleted`
          : hiddenLeft > 0
            ? '; run with --fix to delete them'
            : ''),
    );
    const remaining = drift.filter((d) => !d.fixed).length;
    const counters =
      remaining === 0
        ? drift.length === 0
          ? 'Every counter matches its recount'
          : `Fixed ${drift.length} counter(s)`
        : `${remaining} counter(s) drifted${fix ? ' and could not be fixed (changed meanwhile; run again)' : '; run with --fix to repair'}`;
    console.log(
      hiddenLeft === 0
        ? `${counters}.`
        : `${counters}; ${hiddenLeft} hidden timeline entr${hiddenLeft === 1 ? 'y' : 'ies'} left (run with --fix to delete them).`,
    );
    const tree = await checkCategoryTree({ client, tableName, fix });
    for (const line of describeCategoryTree(tree)) console.log(line);
    const loopsLeft = tree.cycles.filter((cycle) => cycle.moved !== true).length;
    console.log(
      `category cycles: ${tree.cycles.length} found` +
        (fix ? `, ${tree.cycles.length - loopsLeft} broken` : loopsLeft > 0 ? '; run with --fix to break them' : '') +
        ` (${tree.below.length} categor${tree.below.length === 1 ? 'y' : 'ies'} below them)`,
    );
    if (remaining > 0 || (!fix && hidden.length > 0) || loopsLeft > 0) process.exitCode = 1;
  }, TABLE_TOOL);
} catch (error) {
  failCommand(error, error instanceof Error && error.name === 'UsageError' ? 2 : 1);
}
