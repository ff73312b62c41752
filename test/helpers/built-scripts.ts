import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { regionOf } from './databases.js';

const root = process.cwd();

/**
 * Bound of a test that spawns built commands (each one a Node process booting the app's
 * modules): under 15 s on an idle 2-core machine, up to 8x that on a loaded one.
 */
export const CHILD_PROCESS_TIMEOUT_MS = 240_000;

/**
 * The database budget of the test apps and commands: the shared test engine can be slow on a
 * loaded machine (table creation most of all), and a command that gives up after the 5 s default
 * fails a test for the machine's load, not for its code. The budget itself is tested with its own
 * small values in test/database-faults.e2e-spec.ts.
 */
export const TEST_REQUEST_TIMEOUT_MS = '30000';

/**
 * The environment of a built command run against the test engine and one suite's table.
 *
 * The table exists (a test app or `testDatabase().newTable()` made it), so the command checks it
 * and never creates it: `DYNAMODB_CREATE_TABLE=false`, production's default. With creation on (the
 * default outside production), start-up judges a table found ACTIVE but younger than 2 minutes
 * without a layout baseline as another creator's, and waits 15 s for its baseline
 * (src/dynamo/table.setup.ts): every command on a table a test had imported layout-0 data into paid
 * it (docs/testing.md, "Suite time", session 20). A test about creation passes
 * `DYNAMODB_CREATE_TABLE: 'true'` after this.
 */
export const commandEnv = (endpoint: string | undefined, tableName: string): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_REGION: regionOf(tableName), // the table's database (./databases.ts)
  NODE_ENV: 'test',
  DYNAMODB_CREATE_TABLE: 'false',
  DYNAMODB_ENDPOINT: endpoint,
  DYNAMODB_TABLE_NAME: tableName,
  DYNAMODB_REQUEST_TIMEOUT_MS: TEST_REQUEST_TIMEOUT_MS,
  JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
});

/** The path of a built command (`dist/cli/<name>.js`); the e2e global set-up (test/global-setup.mjs) has built it. */
export function builtScript(name: string): string {
  const script = join(root, 'dist', 'cli', `${name}.js`);
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\``);
  return script;
}

/**
 * Runs a built command on a suite's table to its end: its exit code, stdout and stderr as one text
 * (`output`), and each apart (the report is on stdout, the log lines on stderr). `env` adds to
 * (or overrides) `commandEnv`.
 */
export async function runBuiltCommand(
  name: string,
  args: string[],
  target: { endpoint: string | undefined; tableName: string },
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [builtScript(name), ...args], {
    env: { ...commandEnv(target.endpoint, target.tableName), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => ((output += d.toString()), (stdout += d.toString())));
  child.stderr.on('data', (d: Buffer) => ((output += d.toString()), (stderr += d.toString())));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output, stdout, stderr };
}
