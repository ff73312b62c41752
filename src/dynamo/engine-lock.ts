import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { systemClock } from '../common/clock/clock.js';

/**
 * The file through which processes share one embedded DynamoDB Local per data directory
 * (`.data/dynamodb` -> `.data/dynamodb.engine.json`). DynamoDB Local keeps its data in one
 * SQLite file; two engines on it corrupt it. The process that starts the engine creates the
 * file exclusively before starting it, writes the endpoint once it answers, and removes it
 * when it stops; the others reuse that endpoint (scripts) or refuse (a second app).
 */
export interface EngineLock {
  pid: number;
  /** `app` for `npm start`, `script` for a `db:*` / `user:*` command. */
  owner: 'app' | 'script';
  /** Absent while the engine is starting. */
  endpoint?: string;
  dataDir: string;
  startedAt: string;
}

export const lockFileOf = (dataDir: string): string => `${resolve(dataDir)}.engine.json`;

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The current lock, or undefined when there is none or its process is gone (the stale file is removed). */
export function readEngineLock(dataDir: string): EngineLock | undefined {
  const file = lockFileOf(dataDir);
  let lock: EngineLock;
  try {
    lock = JSON.parse(readFileSync(file, 'utf8')) as EngineLock;
  } catch {
    return undefined;
  }
  if (typeof lock.pid === 'number' && alive(lock.pid) && lock.pid !== process.pid) return lock;
  rmSync(file, { force: true });
  return undefined;
}

/** Takes the lock for this process; false when another process took it first. */
export function claimEngineLock(dataDir: string, owner: EngineLock['owner']): boolean {
  const file = lockFileOf(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  const lock: EngineLock = {
    pid: process.pid,
    owner,
    dataDir: resolve(dataDir),
    startedAt: systemClock.now().toISOString(),
  };
  try {
    writeFileSync(file, JSON.stringify(lock), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Records the endpoint of the engine this process started. */
export function publishEndpoint(dataDir: string, owner: EngineLock['owner'], endpoint: string): void {
  const lock: EngineLock = {
    pid: process.pid,
    owner,
    endpoint,
    dataDir: resolve(dataDir),
    startedAt: systemClock.now().toISOString(),
  };
  writeFileSync(lockFileOf(dataDir), JSON.stringify(lock));
}

export function releaseEngineLock(dataDir: string): void {
  const file = lockFileOf(dataDir);
  try {
    const lock = JSON.parse(readFileSync(file, 'utf8')) as EngineLock;
    if (lock.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/** Whether the engine at `endpoint` answers. */
export async function engineAnswers(endpoint: string): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
