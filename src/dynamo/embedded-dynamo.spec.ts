import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDynamoError, freePort, startEmbeddedDynamo } from './embedded-dynamo.js';

describe('startEmbeddedDynamo', () => {
  it('says what is missing and how to use another DynamoDB when Java is not installed', async () => {
    const error = await startEmbeddedDynamo({ javaPath: '/nonexistent/bin/java', startTimeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EmbeddedDynamoError);
    expect((error as Error).message).toMatch(/Java 17 or newer/);
    expect((error as Error).message).toMatch(/DYNAMODB_ENDPOINT/);
  });

  /** The arguments a stand-in for `java` (it records them and exits: no Java needed) was started with. */
  async function engineArguments(options: { sharedDb?: boolean } = {}): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'fake-java-'));
    const java = join(dir, 'java');
    writeFileSync(java, `#!/bin/sh\necho "$@" > "${join(dir, 'args')}"\nexit 3\n`);
    chmodSync(java, 0o755);
    const error = await startEmbeddedDynamo({ javaPath: java, startTimeoutMs: 10_000, ...options }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/exited during start-up \(code 3/);
    return readFileSync(join(dir, 'args'), 'utf8').trim().split(' ');
  }

  it('starts the JVM with the first JIT tier only and the serial collector, before the jar', async () => {
    const args = await engineArguments();
    expect(args.slice(0, 2)).toEqual(['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC']);
    expect(args).toContain('-jar');
    expect(args).toContain('-inMemory');
    expect(args.at(-1)).toBe('-disableTelemetry');
    expect(args).toContain('-sharedDb');
  });

  it('gives every access key and region a database of its own when asked (the test run)', async () => {
    const args = await engineArguments({ sharedDb: false });
    expect(args).toContain('-inMemory');
    expect(args).not.toContain('-sharedDb');
  });

  it('says in one sentence that Java is too old, not with the JVM stack (the engine needs Java 17)', async () => {
    // A stand-in for Java 11 that prints what the real one prints for the engine's class files.
    const dir = mkdtempSync(join(tmpdir(), 'old-java-'));
    const java = join(dir, 'java');
    const jvmError =
      'Error: LinkageError occurred while loading main class com.amazonaws.services.dynamodbv2.local.main.ServerRunner\n' +
      '\tjava.lang.UnsupportedClassVersionError: com/amazonaws/services/dynamodbv2/local/main/ServerRunner has been ' +
      'compiled by a more recent version of the Java Runtime (class file version 61.0), this version of the Java ' +
      'Runtime only recognizes class file versions up to 55.0';
    writeFileSync(java, `#!/bin/sh\necho '${jvmError}' >&2\nexit 1\n`);
    chmodSync(java, 0o755);
    const error = await startEmbeddedDynamo({ javaPath: java, startTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDynamoError);
    expect((error as Error).message).toBe(
      'Java 17 or newer is needed to run the embedded DynamoDB Local (the `java` found is older: it reads class files ' +
        'up to version 55.0, Java 11). Install Java 17+ (for example `apt-get install openjdk-17-jre-headless`) or set ' +
        'JAVA_HOME to one, or point DYNAMODB_ENDPOINT at another DynamoDB, e.g. `docker compose up -d dynamodb` and ' +
        'DYNAMODB_ENDPOINT=http://localhost:8000.',
    );
  });

  it('finds free loopback ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  });
});
