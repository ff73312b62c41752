import { availableParallelism } from 'node:os';

// Jest 30 in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, see package.json). Every
// project transpiles each TypeScript file on its own with SWC (no type checker): the type checker
// cost about 16 s of CPU per Jest process even with a warm cache, and far more on a cold one
// (docs/testing.md, "Suite time"); SWC transpiles a cold unit tier for about 7 s of CPU less than
// ts-jest's TypeScript transpiler did. `npm run typecheck` checks the types of every file.
// SWC is set to emit what tsc emits for tsconfig.json: legacy decorators with their design-type
// metadata (Nest's injection reads it), class fields defined (ES2022+), ES modules.
const swc = (tsx) => [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true, tsx },
      transform: {
        legacyDecorator: true,
        decoratorMetadata: true,
        useDefineForClassFields: true,
        ...(tsx ? { react: { runtime: 'automatic' } } : {}),
      },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];
export const transform = { '^.+\\.ts$': swc(false), '^.+\\.tsx$': swc(true) };

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The client packages by name, from their sources (as tsconfig.json's `paths`).
    '^@publishing-api/client$': '<rootDir>/clients/typescript/src/index.ts',
    '^@publishing-api/react$': '<rootDir>/clients/react/src/index.ts',
  },
  transform,
  // The bench's peer (bench/peer/, `npm run bench:peer`) has its own node_modules: not ours to crawl.
  modulePathIgnorePatterns: ['<rootDir>/bench/peer/'],
};

export default {
  // Jest's default is one worker per core less one: a single worker on a 2-core machine, which
  // left the second core mostly idle while each e2e test waited on DynamoDB Local. Two workers
  // overlap that waiting (measured in docs/testing.md); every suite has its own table, and the
  // suites that build dist/ share a lock.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // A bound, not a wait: the slowest ordinary test takes about 10 s on an idle 2-core machine;
  // the bound leaves room for a machine loaded many times over (a shared one measured 8x slower).
  // Tests that seed thousands of items or spawn built commands have their own, larger bound.
  testTimeout: 120_000,
  // Jest force-exits a worker that has not exited 500 ms after it was told to end, and prints "A
  // worker process has failed to exit gracefully ... tests leaking due to improper teardown". The
  // unit workers leak nothing (measured 2026-11-27, docs/testing.md): when told to end they hold no
  // timer, socket, server or worker thread, and reach 'exit' at once; what follows is the process's
  // own teardown of a 490-610 MiB heap, 126-448 ms at load 10-14 on 2 cores, so a busier moment
  // passes 500 ms. A worker that does hold something is still force-exited and reported, after 3 s.
  workerGracefulExitTimeout: 3000,
  // Long files first in a fresh clone too (CI): see test/sequencer.mjs.
  testSequencer: './test/sequencer.mjs',
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    // DynamoDB Local (Java) is started by the e2e project's global setup only: Jest runs a
    // project's global setup only when that project has tests to run, so the unit tier needs no Java.
    // The e2e suites test the app as `nest build` emits it, the Swagger plugin's output included:
    // every import of `src/` from `test/` loads its `dist/` file. The global setup builds `dist/`
    // when it is missing or older than `src/` (CI has built it already).
    {
      ...common,
      displayName: 'e2e',
      rootDir: '.',
      moduleNameMapper: { '^(?:\\.{1,2}/)+src/(.*)\\.js$': '<rootDir>/dist/$1.js', ...common.moduleNameMapper },
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: './test/global-setup.mjs',
      // A database of its own in the run's engine for each test file (see the file).
      setupFiles: ['./test/engine-database.mjs'],
      globalTeardown: './test/global-teardown.mjs',
    },
  ],
};
