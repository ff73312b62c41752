// Jest 30 in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, see package.json) with
// ts-jest. The Swagger CLI plugin runs as an AST transformer so that the OpenAPI document the
// tests see is the one `nest build` produces; it needs the type checker, hence no isolatedModules.
const tsJest = [
  'ts-jest',
  {
    useESM: true,
    tsconfig: 'tsconfig.json',
    // 151002: ts-jest's note that hybrid module kinds prefer isolatedModules, which would disable the plugin.
    diagnostics: { ignoreCodes: [151002] },
    astTransformers: { before: [{ path: './test/swagger-plugin.transformer.cjs' }] },
  },
];

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
};

export default {
  globalSetup: './test/global-setup.ts',
  globalTeardown: './test/global-teardown.ts',
  // A bound, not a wait: on a loaded 2-core machine (five suites at once) one e2e test that boots
  // apps, hashes passwords and writes hundreds of items can take minutes; a hang still fails.
  testTimeout: 180000,
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
