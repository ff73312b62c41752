import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { freePort } from '../src/dynamo/embedded-dynamo.js';
import { type EngineLock, lockFileOf } from '../src/dynamo/engine-lock.js';
import { builtScript, CHILD_PROCESS_TIMEOUT_MS } from './helpers/built-scripts.js';

jest.setTimeout(CHILD_PROCESS_TIMEOUT_MS);

const root = process.cwd();

/** Runs a built file with node; resolves with its exit code and output, never rejects. */
function run(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: root, env, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Java processes whose command line names this data directory. */
const enginesOn = (dataDir: string): number =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('DynamoDBLocal') && line.includes(dataDir)).length;

describe('Scripts beside a running app (one embedded engine per data directory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-'));
  const dataDir = join(dir, 'dynamodb');
  let app: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv;
  let checkCounts: string;

  beforeAll(async () => {
    checkCounts = builtScript('check-counts');
    const { TEST_DYNAMODB_ENDPOINT: _ignored, DYNAMODB_ENDPOINT: _none, ...rest } = process.env;
    env = {
      ...rest,
      NODE_ENV: 'development',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DYNAMODB_EMBEDDED_DATA_DIR: dataDir,
      MAIL_DIR: join(dir, 'mail'),
      LOG_LEVEL: 'warn',
    };
    app = spawn(process.execPath, [join(root, 'dist', 'main.js')], { cwd: root, env, stdio: 'ignore' });
    // Up when the endpoint is published and the API answers.
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (app.exitCode !== null) throw new Error(`the app exited with ${app.exitCode}`);
      const lock = existsSync(lockFileOf(dataDir))
        ? (JSON.parse(readFileSync(lockFileOf(dataDir), 'utf8')) as EngineLock)
        : undefined;
      const up = lock?.endpoint
        ? await fetch(`http://127.0.0.1:${env.PORT}/health/ready`).then(
            (r) => r.ok,
            () => false,
          )
        : false;
      if (up) break;
      if (Date.now() > deadline) throw new Error('the app did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(() => {
    if (app && app.exitCode === null) app.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the running app publishes its engine under the data directory', () => {
    const lock = JSON.parse(readFileSync(lockFileOf(dataDir), 'utf8')) as EngineLock;
    expect(lock).toMatchObject({
      pid: app!.pid,
      owner: 'app',
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(enginesOn(dataDir)).toBe(1);
  });

  it('a script started while the app runs reuses its engine instead of starting a second one', async () => {
    // The command logs at LOG_LEVEL as the server does (`warn` above keeps the app quiet).
    const result = await run(checkCounts, { ...env, LOG_LEVEL: 'log' });
    expect(result.output).toContain(`Using the embedded DynamoDB Local of process ${app!.pid}`);
    expect(result.code).toBe(0);
    expect(enginesOn(dataDir)).toBe(1);
  });

  it('a second app on the same data directory refuses to start, in one sentence', async () => {
    const second = await run(join(root, 'dist', 'main.js'), { ...env, PORT: String(await freePort()) });
    expect(second.code).toBe(1);
    expect(second.output).toContain(
      `The embedded DynamoDB data in ${dataDir} is in use by the running app (pid ${app!.pid})`,
    );
    expect(enginesOn(dataDir)).toBe(1);
  });

  it('stopping the app removes the endpoint file and its engine', async () => {
    const exited = new Promise((resolve) => app!.once('exit', resolve));
    app!.kill('SIGTERM');
    await exited;
    expect(existsSync(lockFileOf(dataDir))).toBe(false);
    expect(enginesOn(dataDir)).toBe(0);
  });
});
