// Stops the engine the global set-up started (none when the caller gave TEST_DYNAMODB_ENDPOINT).
export default async function globalTeardown() {
  await globalThis.__DYNAMO__?.stop();
}
