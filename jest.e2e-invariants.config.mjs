// The critical-invariant e2e spec alone, as one flat Jest configuration: what the scoped StrykerJS
// run (stryker.e2e.config.mjs) runs for every mutant. Its runner script starts one DynamoDB Local
// for the whole run and sets TEST_DYNAMODB_ENDPOINT, so the global setup starts nothing.
import base from './jest.config.mjs';

const { displayName: _name, ...e2e } = base.projects.find((project) => project.displayName === 'e2e');

export default {
  ...e2e,
  // Like every e2e suite, it loads the app from dist/: StrykerJS's buildCommand runs `nest build`
  // once over the instrumented src/ (every mutant compiled in, switched on at run time), so each
  // mutant's Jest run only transpiles the test files.
  testMatch: ['<rootDir>/test/invariants.e2e-spec.ts'],
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  testTimeout: base.testTimeout,
};
