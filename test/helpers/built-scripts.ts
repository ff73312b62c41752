import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Bound of a test that spawns built commands (each one a Node process booting the app's
 * modules): under 15 s on an idle 2-core machine, up to 8x that on a loaded one.
 */
export const CHILD_PROCESS_TIMEOUT_MS = 240_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The database budget of the test apps and commands: the shared test engine can be slow on a
 * loaded machine (table creation most of all), and a command that gives up after the 5 s default
 * fails a test for the machine's load, not for its code. The budget itself is tested with its own
 * small values in test/database-faults.e2e-spec.ts.
 */
export const TEST_REQUEST_TIMEOUT_MS = '30000';

/** The environment of a built command run against the test engine and one suite's table. */
export const commandEnv = (endpoint: string | undefined, tableName: string): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: 'test',
  DYNAMODB_ENDPOINT: endpoint,
  DYNAMODB_TABLE_NAME: tableName,
  DYNAMODB_REQUEST_TIMEOUT_MS: TEST_REQUEST_TIMEOUT_MS,
  JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
});

/**
 * The path of a built command (`dist/cli/<name>.js`), building the app first when `dist` is
 * missing or older than `src` (CI builds before testing, so there it never builds). Suites that
 * spawn commands share a lock so that two never run `nest build` at once.
 */
export async function builtScript(name: string): Promise<string> {
  const script = join(root, 'dist', 'cli', `${name}.js`);
  const lock = join(root, '.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than a build can take was left by a killed run.
      if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await sleep(500);
    }
  }
  try {
    if (!existsSync(script) || statSync(script).mtimeMs < newestSource(join(root, 'src')))
      execFileSync('npx', ['nest', 'build'], { cwd: root, stdio: 'ignore' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return script;
}
