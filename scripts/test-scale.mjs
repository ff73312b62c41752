#!/usr/bin/env node
// `npm run test:scale`: the e2e files whose tests take their sizes from `atScale` (test/helpers/scale.ts),
// run at the full sizes (TEST_SCALE=full). Extra arguments go to Jest.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = (name) => readFileSync(join(root, 'test', name), 'utf8');
// A grouped e2e file (docs/testing.md) counts with the `*.e2e-part.ts` specs it imports.
const withParts = (name) =>
  [
    source(name),
    ...[...source(name).matchAll(/import '\.\/(.+?\.e2e-part)\.js'/g)].map((m) => source(`${m[1]}.ts`)),
  ].join('\n');
const files = readdirSync(join(root, 'test'))
  .filter((name) => name.endsWith('.e2e-spec.ts'))
  .filter((name) => /\batScale\(/.test(withParts(name)))
  .map((name) => `test/${name}`);
if (files.length === 0) {
  console.error('test:scale: no e2e file uses atScale(); nothing to run');
  process.exit(1);
}
console.log(`test:scale: ${files.length} files at full size: ${files.join(' ')}`);
const result = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--selectProjects',
    'e2e',
    ...process.argv.slice(2),
    '--',
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      TEST_SCALE: 'full',
      NODE_OPTIONS:
        `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim(),
    },
  },
);
process.exit(result.status ?? 1);
