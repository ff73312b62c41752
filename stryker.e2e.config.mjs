// Scoped mutation testing of the critical invariants through their e2e spec
// (`npm run test:mutation:e2e`, which starts DynamoDB Local first). Only the functions that hold
// those invariants are mutated; the ranges are found by name, so edits elsewhere do not shift them.
import { readFileSync } from 'node:fs';

/** `file:start-end` of the function whose declaration matches `signature` (its braces balanced). */
function rangeOf(file, signature) {
  const lines = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  const start = lines.findIndex((line) => signature.test(line));
  if (start < 0) throw new Error(`stryker.e2e.config.mjs: ${signature} not found in ${file}`);
  let depth = 0;
  let opened = false;
  for (let i = start; i < lines.length; i++) {
    for (const char of lines[i]) {
      if (char === '{') [depth, opened] = [depth + 1, true];
      else if (char === '}') depth--;
    }
    if (opened && depth === 0) return `${file}:${start + 1}-${i + 1}`;
  }
  throw new Error(`stryker.e2e.config.mjs: no end for ${signature} in ${file}`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.e2e-invariants.config.mjs', enableFindRelatedTests: false },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  // The suite runs the built app (jest.config.mjs maps src/ to dist/): build the instrumented
  // sources once; mutation switching turns each mutant on at run time.
  buildCommand: 'npx nest build',
  // Per test: the app boots once in the file's beforeAll, but a mutated function runs only inside
  // the requests of the tests that call it, so each mutant runs those tests (1.17 on average) and a
  // mutant no test reaches is reported as not covered without a run. With 'off' every mutant ran
  // all the tests: 143 mutants took about 30 minutes on a quiet machine, 19 with this (docs/testing.md).
  coverageAnalysis: 'perTest',
  mutate: [
    rangeOf('src/taxonomy/taxonomy.service.ts', /^ {2}async updateTag\(/),
    rangeOf('src/users/users.service.ts', /^ {2}async setStatus\(/),
    rangeOf('src/posts/post-rules.ts', /^export function assertMayManagePost\(/),
    rangeOf('src/identity/sessions/sessions.repository.ts', /^ {2}async listPage\(/),
    rangeOf('src/identity/action-links/action-tokens.repository.ts', /^ {2}async consume\(/),
    rangeOf('src/taxonomy/tags.repository.ts', /^ {2}async list\(/),
    rangeOf('src/posts/posts.repository.ts', /^ {2}async removeLike\(/),
    // Since likes are counted on the post or on a shard, the conditions of an unlike live here.
    rangeOf('src/posts/posts.repository.ts', /^ {2}private removeLikeOfKind\(/),
    rangeOf('src/dynamo/counted-markers.ts', /^export async function writeCountedMarker\(/),
  ],
  ignorePatterns: ['.data', 'dist', 'coverage', 'reports'],
  thresholds: { high: 90, low: 80, break: null },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/e2e-invariants.html' },
  jsonReporter: { fileName: 'reports/mutation/e2e-invariants.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // Two Jest runs at once, each with a database of its own in the run's one engine: the second
  // core was idle while a run waited on DynamoDB Local.
  concurrency: 2,
  timeoutMS: 120000,
};
