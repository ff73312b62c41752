import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { StartupError } from '../common/startup-error.js';
import { createDynamoClient } from './dynamo-client.factory.js';
import { DatabaseError } from './dynamo-errors.js';
import { startEmbeddedDynamo } from './embedded-dynamo.js';
import {
  claimEngineLock,
  engineAnswers,
  type EngineLock,
  publishEndpoint,
  readEngineLock,
  releaseEngineLock,
} from './engine-lock.js';
import { assertIndexesMatch, type BaselineWait, ensureTable, type TableCreation } from './table.setup.js';

export interface PreparedDatabase {
  /** The configuration with the endpoint of the embedded engine filled in, when one was started. */
  config: AppConfig;
  /** Stops the embedded engine (a no-op otherwise). */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Failures that mean "not (yet) reachable": worth waiting for while the database starts. */
function isTransient(error: unknown): boolean {
  const { name = '', code = '', message = '' } = error as { name?: string; code?: string; message?: string };
  return (
    /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT|socket hang up/.test(
      `${code} ${message}`,
    ) ||
    ['TimeoutError', 'AbortError', 'RequestTimeout', 'ThrottlingException', 'InternalServerError'].includes(name) ||
    (error instanceof DatabaseError && (error.failure === 'timeout' || error.failure === 'busy'))
  );
}

const where = (config: AppConfig) => config.dynamo.endpoint ?? `AWS DynamoDB in ${config.dynamo.region}`;

/**
 * Retries `attempt` with exponential backoff (0.25 s doubling to 5 s) while the database is not
 * reachable, for at most `startupWaitSeconds`; then stops with one sentence a person can act on.
 */
async function waitForDatabase<T>(config: AppConfig, logger: Logger, attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + config.dynamo.startupWaitSeconds * 1000;
  for (let delay = 250, tries = 1; ; tries++, delay = Math.min(delay * 2, 5000)) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof StartupError) throw error;
      if (!isTransient(error)) {
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new StartupError(`DynamoDB at ${where(config)} refused the start-up check: ${reason}`);
      }
      if (performance.now() + delay > deadline) {
        throw new StartupError(
          `DynamoDB at ${where(config)} did not answer within ${config.dynamo.startupWaitSeconds} s ` +
            `(DYNAMODB_STARTUP_WAIT_SECONDS); start it or point DYNAMODB_ENDPOINT at a running one.`,
        );
      }
      if (tries === 1) logger.warn(`DynamoDB at ${where(config)} is not reachable yet; retrying`);
      await sleep(delay);
    }
  }
}

/**
 * Where start-up may create the table: `ensureTable`, retried while the database is not reachable.
 * The attempts share one `TableCreation`: an attempt that sent the CreateTable and then failed
 * leaves the table made but without its baseline, and the next attempt, finding the table there,
 * baselines it at once when that CreateTable was answered 200, and otherwise still judges it as
 * possibly its own new one (from the ACTIVE table), not as an existing one; and an attempt that
 * found the table CREATING lets the next one, finding it ACTIVE, still wait for its creator's
 * baseline. Returns true when the table was recorded as new.
 */
export function createOrCheckTable(
  client: DynamoDBClient,
  config: AppConfig,
  logger: Logger,
  baselineWait: BaselineWait = {},
): Promise<boolean> {
  const creation: TableCreation = {};
  return waitForDatabase(config, logger, () =>
    ensureTable({ client, tableName: config.dynamo.tableName, creation, baselineWait, logger }),
  );
}

/** Where start-up may not create the table: it must exist. */
async function requireTable(client: DynamoDBClient, config: AppConfig): Promise<void> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: config.dynamo.tableName }));
    if (Table) assertIndexesMatch(config.dynamo.tableName, Table);
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    throw new StartupError(
      `The table ${config.dynamo.tableName} does not exist at ${where(config)}; ` +
        `create it with \`npm run db:create-table\` (or set DYNAMODB_CREATE_TABLE=true outside production).`,
    );
  }
}

/**
 * The engine another process runs on this data directory, for a script to reuse; undefined when
 * this process may (and did claim the right to) start its own. Never two engines on one directory:
 * a second app, or a script while an engine starts or does not answer, is refused with one sentence.
 */
async function sharedEngine(dataDir: string, owner: EngineLock['owner']) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const lock = readEngineLock(dataDir);
    if (!lock) {
      if (claimEngineLock(dataDir, owner)) return undefined;
      continue; // another process claimed it just now: look again
    }
    const who = lock.owner === 'app' ? `the running app (pid ${lock.pid})` : `a running command (pid ${lock.pid})`;
    if (owner === 'app') {
      throw new StartupError(
        `The embedded DynamoDB data in ${dataDir} is in use by ${who}; stop it first, or set DYNAMODB_EMBEDDED_DATA_DIR to another directory.`,
      );
    }
    if (lock.endpoint && (await engineAnswers(lock.endpoint))) return { pid: lock.pid, endpoint: lock.endpoint };
    throw new StartupError(
      `The embedded DynamoDB data in ${dataDir} is held by ${who} whose engine is ${lock.endpoint ? 'not answering' : 'still starting'}; try again when it is up, or stop it.`,
    );
  }
  throw new StartupError(`Could not take the embedded DynamoDB data in ${dataDir}; try again.`);
}

/**
 * What has to happen before the app can serve: start the embedded DynamoDB Local when the
 * configuration asks for it, wait for the database to answer (with backoff, up to
 * `DYNAMODB_STARTUP_WAIT_SECONDS`), and create the table when it is missing and creation is
 * allowed, or check that it exists. Shared by `main.ts` and the command-line scripts.
 */
export async function prepareDatabase(
  config: AppConfig,
  logger = new Logger('Database'),
  owner: EngineLock['owner'] = 'script',
): Promise<PreparedDatabase> {
  let resolved = config;
  let stop = async () => {};
  if (config.dynamo.embedded) {
    const dataDir = config.dynamo.embeddedInMemory ? undefined : config.dynamo.embeddedDataDir;
    // An in-memory engine shares nothing; one on disk is shared through its lock file.
    const running = dataDir ? await sharedEngine(dataDir, owner) : undefined;
    if (running) {
      logger.log(`Using the embedded DynamoDB Local of process ${running.pid} on ${running.endpoint}`);
      resolved = { ...config, dynamo: { ...config.dynamo, endpoint: running.endpoint } };
    } else {
      const engine = await startEmbeddedDynamo({ dataDir }).catch((error: unknown) => {
        if (dataDir) releaseEngineLock(dataDir);
        throw error;
      });
      if (dataDir) publishEndpoint(dataDir, owner, engine.endpoint);
      logger.log(`Embedded DynamoDB Local on ${engine.endpoint} (${dataDir ? `data in ${dataDir}` : 'in memory'})`);
      resolved = { ...config, dynamo: { ...config.dynamo, endpoint: engine.endpoint } };
      stop = async () => {
        await engine.stop();
        if (dataDir) releaseEngineLock(dataDir);
      };
    }
  }
  const client = createDynamoClient(resolved.dynamo);
  try {
    if (resolved.dynamo.createTable) {
      const created = await createOrCheckTable(client, resolved, logger);
      logger.log(`Table ${resolved.dynamo.tableName} ${created ? 'created' : 'exists'}`);
    } else {
      await waitForDatabase(resolved, logger, () => requireTable(client, resolved));
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { config: resolved, stop };
}
