// Shared helpers of the reliability battery (`npm run test:reliability`). Plain ESM over the
// built app (`dist/`), so the battery runs exactly what `npm start` runs. All traffic goes to
// 127.0.0.1: the app and its DynamoDB Local are started here, on free loopback ports.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startEmbeddedDynamo } from '../../dist/dynamo/embedded-dynamo.js';

export { freePort, sleep };

export const JWT_SECRET = 'reliability-battery-secret-0123456789abcdef';

/** A temporary directory, removed by `cleanup()`. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cleanups = [];
/** Runs every registered clean-up (engines, apps, directories), newest first. */
export async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  }
}

/** Runs a script's `main`: prints what it throws (exit code 1), then stops everything started. */
export async function runScript(main) {
  try {
    await main();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/** DynamoDB Local on disk (the embedded default's engine and flags), on a fixed port so a restart keeps the endpoint. */
export async function startEngine({ dataDir, port }) {
  const engine = await startEmbeddedDynamo({ dataDir, port });
  cleanups.push(() => engine.stop());
  return engine;
}

/**
 * Starts `node [nodeArgs] dist/main.js` (or another build's `main`) with `env` on a free port
 * (loopback) and waits until `readyPath` (/health/live) answers, polled every `pollMs`. Returns its
 * base URL, a `stop()` and `readyMs`, the time from spawn to that first answer (`bench:cold-start`).
 */
export async function startApp(
  env,
  { nodeArgs = [], main = 'dist/main.js', readyPath = '/health/live', pollMs = 200 } = {},
) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      PATH: process.env.PATH,
      JAVA_HOME: process.env.JAVA_HOME ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET,
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '10',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-20000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(stop);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited during start-up:\n${output}`);
    try {
      if ((await fetch(`${base}${readyPath}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the app did not start:\n${output}`);
    await sleep(pollMs);
  }
  return { base, stop, child, output: () => output, readyMs: performance.now() - started };
}

/** One request; never throws: a network failure is status 0. Records the time taken. */
export async function call(base, method, path, { body, token, headers = {}, rawBody, timeoutMs = 60000 } = {}) {
  const started = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers, ms: performance.now() - started };
  } catch (error) {
    return { status: 0, json: undefined, text: String(error), headers: new Headers(), ms: performance.now() - started };
  }
}

/** Registers a user; returns its token and id. */
export async function register(base, tag) {
  const res = await call(base, 'POST', '/api/v1/auth/register', {
    body: { email: `${tag}-${Math.random().toString(36).slice(2, 10)}@example.com`, password: 'password-1234' },
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${res.text}`);
  return { token: res.json.accessToken, userId: res.json.user.id, email: res.json.user.email };
}

/** Runs `n` tasks with at most `width` at once. */
export async function pool(n, width, task) {
  const results = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

export const percentile = (values, p) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

export const countBy = (values) => values.reduce((acc, v) => ((acc[v] = (acc[v] ?? 0) + 1), acc), {});
