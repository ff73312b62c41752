import { rmSync } from 'node:fs';

// Stops the engine the global set-up started (none when the caller gave TEST_DYNAMODB_ENDPOINT) and
// removes the run's directory.
export default async function globalTeardown() {
  await globalThis.__DYNAMO__?.stop();
  if (process.env.TEST_RUN_DIR) rmSync(process.env.TEST_RUN_DIR, { recursive: true, force: true });
}
