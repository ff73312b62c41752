// `npm run test:mutation:e2e`: one DynamoDB Local for the whole scoped mutation run (every
// mutant's Jest run gets tables of its own in it), then StrykerJS with stryker.e2e.config.mjs.
// Needs `npm run build` first (the script imports the launcher from dist/; the npm pre-script does it).
import { spawn } from 'node:child_process';
import { startEmbeddedDynamo } from '../../dist/dynamo/embedded-dynamo.js';

// One database per access key and region: every mutant's Jest run uses a region of its own
// (test/engine-database.mjs), so late mutants do not pay for the stream records of earlier ones.
const engine = await startEmbeddedDynamo({ sharedDb: false });
let code = 1;
let stryker;
// Stopped (Ctrl-C, a CI timeout): stop StrykerJS and the engine too. Without this the `finally`
// below never ran and the engine's Java process was left running on its port.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    // The whole group: npx does not pass the signal on to StrykerJS and its test runners.
    if (stryker?.pid) process.kill(-stryker.pid, signal);
    void engine.stop().finally(() => process.exit(130));
  });
}
try {
  stryker = spawn('npx', ['stryker', 'run', 'stryker.e2e.config.mjs', ...process.argv.slice(2)], {
    stdio: 'inherit',
    // A process group of its own, so a stop reaches StrykerJS's children too.
    detached: true,
    env: { ...process.env, TEST_DYNAMODB_ENDPOINT: engine.endpoint },
  });
  code = await new Promise((resolve) => stryker.on('exit', (exitCode) => resolve(exitCode ?? 1)));
} finally {
  await engine.stop();
}
process.exit(code);
