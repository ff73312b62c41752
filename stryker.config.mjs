// Mutation testing of the unit tier (`npm run test:mutation`): StrykerJS mutates the pure rules
// below and runs their specs against every mutant. CI fails under the `break` threshold.
// Jest runs in native ESM mode, so the runner's Node needs --experimental-vm-modules.
// The scoped e2e run of the critical invariants is stryker.e2e.config.mjs.
import { UNIT_RULES } from './test/mutation/unit-rules.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.unit.config.mjs', enableFindRelatedTests: true },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  coverageAnalysis: 'perTest',
  mutate: UNIT_RULES,
  // Static mutants (module-level constants, run once when a file loads) cannot be traced to a
  // test, so StrykerJS would run the whole unit tier for each; they are reported as ignored.
  ignoreStatic: true,
  // CI re-tests only the mutants whose code or covering specs changed since the committed
  // result (docs/testing.md: a missing file means a full run; `--force` forces one).
  incremental: true,
  incrementalFile: 'test/mutation/unit-incremental.json',
  ignorePatterns: ['.data', 'dist', 'coverage', 'reports'],
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/unit.html' },
  jsonReporter: { fileName: 'reports/mutation/unit.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  concurrency: 2,
  timeoutMS: 20000,
};
