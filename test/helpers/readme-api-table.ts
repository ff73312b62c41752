import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of the README's "API at a glance" table: the operations it names and who may call them. */
export interface ApiTableRow {
  /** `METHOD /api/v1/path`, one per method and path the row covers (path templates as OpenAPI writes them). */
  operations: string[];
  who: string;
}

const cells = (line: string): string[] =>
  line
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replaceAll('\\|', '|'));

const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);

/**
 * The paths a row's path cell names: `/a/b`, `/c` is `/a/b` and `/a/c` (a sibling), a query is
 * dropped, `[/{id}]` is the path with and without it.
 */
function pathsOf(cell: string): string[] {
  const paths: string[] = [];
  for (const span of codeSpans(cell)) {
    const path = span.split('?')[0];
    if (!path.startsWith('/')) continue; // `(publishAt)` and the like
    const previous = paths.at(-1);
    const sibling = previous && path.split('/').length === 2 && previous.split('/').length > 2;
    const full = sibling ? `${previous.slice(0, previous.lastIndexOf('/'))}${path}` : path;
    const optional = /^(.*)\[(\/[^\]]+)\]$/.exec(full);
    paths.push(...(optional ? [optional[1], optional[1] + optional[2]] : [full]));
  }
  return paths;
}

/** The rows of README.md's "API at a glance" table (the probes' row, not under /api/v1, left out). */
export function readmeApiTable(root = process.cwd()): ApiTableRow[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## API at a glance'));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| method'));
  const rows: ApiTableRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [method, path, who] = cells(line);
    if (who === 'probes') continue;
    const methods = codeSpans(method);
    const operations = pathsOf(path).flatMap((p) => methods.map((m) => `${m} /api/v1${p}`));
    rows.push({ operations, who });
  }
  return rows;
}
