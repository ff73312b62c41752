// The unit tier alone, as one flat Jest configuration: what StrykerJS runs for every mutant
// (stryker.config.mjs). No global setup: unit specs need no DynamoDB. ts-jest transpiles each
// file on its own (no type checker, no Swagger plugin: unit specs need neither), which keeps a
// Jest run per mutant cheap; `npm run typecheck` and `npm test` still check the types.
import base from './jest.config.mjs';

const { displayName: _name, ...unit } = base.projects.find((project) => project.displayName === 'unit');

export default {
  ...unit,
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { useESM: true, tsconfig: 'tsconfig.json', isolatedModules: true, diagnostics: { ignoreCodes: [151002] } },
    ],
  },
  testTimeout: base.testTimeout,
};
