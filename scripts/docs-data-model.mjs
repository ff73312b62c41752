// Writes the generated tables of docs/data-model.md from the declared schema (src/dynamo/schema.ts),
// or with --check fails when the committed document differs. Reads the build (`npm run build`).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { spliceGenerated } from '../dist/dynamo/schema-docs.js';

const check = process.argv.includes('--check');
const path = fileURLToPath(new URL('../docs/data-model.md', import.meta.url));
const committed = await readFile(path, 'utf8');
const options = (await prettier.resolveConfig(path)) ?? {};
const generated = await prettier.format(spliceGenerated(committed), { ...options, filepath: path });

if (!check) {
  await writeFile(path, generated);
  console.log(
    generated === committed ? 'docs/data-model.md: already up to date' : 'docs/data-model.md: tables regenerated',
  );
} else if (generated !== committed) {
  const before = committed.split('\n');
  const after = generated.split('\n');
  const line = before.findIndex((text, i) => text !== after[i]);
  console.error(
    `docs/data-model.md differs from the declared schema (first at line ${line + 1}):\n` +
      `  committed: ${before[line] ?? '(end)'}\n  generated: ${after[line] ?? '(end)'}\n` +
      'Run `npm run docs:data-model` and commit the result.',
  );
  process.exit(1);
} else {
  console.log('docs/data-model.md: the generated tables match the declared schema');
}
