// The critical-invariant e2e spec alone, as one flat Jest configuration: what the scoped StrykerJS
// run (stryker.e2e.config.mjs) runs for every mutant. Its runner script starts one DynamoDB Local
// for the whole run and sets TEST_DYNAMODB_ENDPOINT, so the global setup starts nothing.
import base, { tsJestWithSwaggerPlugin } from './jest.config.mjs';

const { displayName: _name, ...e2e } = base.projects.find((project) => project.displayName === 'e2e');
const unit = base.projects.find((project) => project.displayName === 'unit');

export default {
  ...e2e,
  // From the sources, not from dist/: StrykerJS mutates src/. The Swagger plugin runs as the
  // AST transformer, so the app's OpenAPI document (which the tests check answers against) is
  // the one `nest build` makes.
  moduleNameMapper: unit.moduleNameMapper,
  transform: { '^.+\\.tsx?$': tsJestWithSwaggerPlugin },
  testMatch: ['<rootDir>/test/invariants.e2e-spec.ts'],
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  testTimeout: base.testTimeout,
};
