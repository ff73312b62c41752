import { EmbeddedDynamoError, freePort, startEmbeddedDynamo } from './embedded-dynamo.js';

describe('startEmbeddedDynamo', () => {
  it('says what is missing and how to use another DynamoDB when Java is not installed', async () => {
    const error = await startEmbeddedDynamo({ javaPath: '/nonexistent/bin/java', startTimeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EmbeddedDynamoError);
    expect((error as Error).message).toMatch(/Java 11 or newer/);
    expect((error as Error).message).toMatch(/DYNAMODB_ENDPOINT/);
  });

  it('finds free loopback ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  });
});
