// The specs of the unit rules StrykerJS measures, as one flat Jest configuration: what it runs for every mutant
// (stryker.config.mjs). No global setup: unit specs need no DynamoDB. The unit project's SWC
// transform (no type checker, no Swagger plugin: unit specs need neither) keeps a Jest run per
// mutant cheap; `npm run typecheck` and `npm test` still check the types.
import base from './jest.config.mjs';
import { UNIT_RULES } from './test/mutation/unit-rules.mjs';

const { displayName: _name, ...unit } = base.projects.find((project) => project.displayName === 'unit');

export default {
  ...unit,
  // The specs of the measured rules only (test/mutation/unit-rules.mjs).
  testMatch: UNIT_RULES.map((rule) => `<rootDir>/${rule.replace(/\.ts$/, '.spec.ts')}`),
  testTimeout: base.testTimeout,
};
