// Jest's global set-up for the e2e project (plain ESM, so that Jest loads it without a transform).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Newest modification time of the files `nest build` compiles (specs and test doubles are not built). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!/\.(spec|testing)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds `dist/` with `nest build` when it is missing or older than `src/`: the e2e suites load the
 * app from `dist/` (jest.config.mjs) and some spawn its commands. CI builds before testing, so there
 * it never builds. A lock keeps two Jest runs in one checkout from building at once.
 */
async function ensureBuilt() {
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
    const marker = join(root, 'dist', 'main.js');
    if (!existsSync(marker) || statSync(marker).mtimeMs < newestSource(join(root, 'src'))) {
      console.log('\nBuilding dist/ for the e2e suites (nest build)...');
      execFileSync('npx', ['nest', 'build'], { cwd: root, stdio: 'inherit' });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds the app if needed, then starts one in-memory DynamoDB Local for the whole run, with one
 * database per access key and region (no `-sharedDb`): each test file uses a region of its own
 * (test/engine-database.mjs), so no file's writes pay for the stream records that earlier files
 * left behind. Each suite makes its own table in its file's database.
 */
export default async function globalSetup() {
  await ensureBuilt();
  // A directory for this run only (the workers inherit the variable): what every file of the run
  // would compute alike, kept once (the app's OpenAPI document, test/helpers/test-app.ts).
  process.env.TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'publishing-api-test-run-'));
  if (process.env.TEST_DYNAMODB_ENDPOINT) return; // an engine the caller already runs
  const { startEmbeddedDynamo } = await import('../dist/dynamo/embedded-dynamo.js');
  const engine = await startEmbeddedDynamo({ sharedDb: false });
  globalThis.__DYNAMO__ = engine;
  process.env.TEST_DYNAMODB_ENDPOINT = engine.endpoint;
}
