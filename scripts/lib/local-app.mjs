// The built app (dist/main.js) on a free loopback port with an in-memory embedded DynamoDB Local,
// for the scripts that check it from outside (test:browser, test:conduit). Nothing leaves 127.0.0.1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/**
 * Starts the app with `env` on top of the defaults; resolves once `/health/ready` answers.
 * `stop()` ends it and removes its data directory; `errors()` is what it wrote to stderr.
 */
export async function startLocalApp(name, env = {}) {
  if (!existsSync('dist/main.js')) {
    throw new Error('dist/main.js is missing: run `npm run build` first (the npm script does).');
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const app = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MAIL_TRANSPORT: 'log',
      DYNAMODB_ENDPOINT: '',
      DYNAMODB_EMBEDDED_IN_MEMORY: 'true',
      DYNAMODB_EMBEDDED_DATA_DIR: join(dataDir, 'dynamodb'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  app.stderr.on('data', (chunk) => (stderr += chunk));
  const stop = async () => {
    if (app.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((resolve) => (app.exitCode !== null ? resolve() : app.once('exit', resolve)));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (app.exitCode !== null) throw new Error(`the app exited (${app.exitCode}) before it was ready`);
      const ok = await fetch(`${base}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the app was not ready within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw new Error(`${error.message}${stderr ? `\napp stderr:\n${stderr.slice(-2000)}` : ''}`);
  }
  return { base, stop, errors: () => stderr };
}
