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
    expect((error as Error).message).toMatch(/Java 11 or newer/);
    expect((error as Error).message).toMatch(/DYNAMODB_ENDPOINT/);
  });

  it('starts the JVM with the first JIT tier only and the serial collector, before the jar', async () => {
    // A stand-in for `java` that records its arguments and exits: no Java needed.
    const dir = mkdtempSync(join(tmpdir(), 'fake-java-'));
    const java = join(dir, 'java');
    writeFileSync(java, `#!/bin/sh\necho "$@" > "${join(dir, 'args')}"\nexit 3\n`);
    chmodSync(java, 0o755);
    const error = await startEmbeddedDynamo({ javaPath: java, startTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exited during start-up \(code 3/);
    const args = readFileSync(join(dir, 'args'), 'utf8').trim().split(' ');
    expect(args.slice(0, 2)).toEqual(['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC']);
    expect(args).toContain('-jar');
    expect(args).toContain('-inMemory');
    expect(args.at(-1)).toBe('-disableTelemetry');
  });

  it('finds free loopback ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  });
});
