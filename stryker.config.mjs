// Mutation testing of the unit tier (`npm run test:mutation`): StrykerJS mutates the pure rules
// below and runs the unit specs against every mutant. CI fails under the `break` threshold.
// Jest runs in native ESM mode, so the runner's Node needs --experimental-vm-modules.
// The scoped e2e run of the critical invariants is stryker.e2e.config.mjs.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.unit.config.mjs', enableFindRelatedTests: true },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  coverageAnalysis: 'perTest',
  // The pure rules: every file here has a unit spec beside it (docs/testing.md).
  mutate: [
    'src/auth/guards.ts',
    'src/common/clock/clock.ts',
    'src/common/http/etag.ts',
    'src/common/slugs/slugify.ts',
    'src/config/app-config.ts',
    'src/dynamo/cursor.ts',
    'src/dynamo/dynamo-errors.ts',
    'src/dynamo/expressions.ts',
    'src/dynamo/keys.ts',
    'src/taxonomy/category-tree.ts',
    'src/users/password-hasher.ts',
    'src/users/username.ts',
  ],
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
