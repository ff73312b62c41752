import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, Socket as NetSocket, type Socket } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../src/app.setup.js';
import { listen } from '../src/http/listen.js';
import { StartupError } from '../src/common/startup-error.js';
import { loadConfig } from '../src/config/app-config.js';
import { prepareDatabase } from '../src/dynamo/database-bootstrap.js';
import { freePort } from '../src/dynamo/embedded-dynamo.js';

/**
 * The database misbehaving: every failure is a 503 with Retry-After and a stable code, within
 * one budget (DYNAMODB_REQUEST_TIMEOUT_MS, retries included); start-up waits, then says why.
 * The faults are real servers on 127.0.0.1 (one that never answers, one that throttles), so
 * the SDK, its retries and the gate run as in production. Bounds are generous multiples that
 * still tell one budget from several, so the tests hold on a loaded machine.
 */
const ENDPOINT = process.env.TEST_DYNAMODB_ENDPOINT!;
const silent = { log: () => undefined, warn: () => undefined } as never;

async function appAgainst(endpoint: string, env: Record<string, string> = {}): Promise<NestExpressApplication> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: endpoint,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    ...env,
  });
  const app = await createApp(config, { logLevel: 'silent' });
  await app.init();
  return app;
}

/** A TCP server that accepts connections and never answers: a frozen engine. */
async function frozenServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const USER_PATH = '/api/v1/users/AAAAAAAAAAAAAAAAAAAAA';

describe('database faults (e2e)', () => {
  it('a frozen engine is 503 database_timeout after one budget, not one per SDK attempt', async () => {
    const frozen = await frozenServer();
    const app = await appAgainst(frozen.endpoint, { DYNAMODB_REQUEST_TIMEOUT_MS: '1000', DYNAMODB_MAX_ATTEMPTS: '3' });
    try {
      const started = Date.now();
      const res = await request(app.getHttpServer()).get(USER_PATH).expect(503);
      const elapsed = Date.now() - started;
      expect(res.body.code).toBe('database_timeout');
      expect(res.headers['retry-after']).toBe('1');
      expect(elapsed).toBeGreaterThanOrEqual(950);
      // Three attempts of a per-attempt timeout would take at least 3000 ms.
      expect(elapsed).toBeLessThan(2500);
    } finally {
      await app.close();
      await frozen.close();
    }
  });

  it('queues calls beyond DYNAMODB_MAX_CONCURRENCY and answers 503 database_busy only when the queue is full', async () => {
    const frozen = await frozenServer();
    const app = await appAgainst(frozen.endpoint, {
      DYNAMODB_REQUEST_TIMEOUT_MS: '4000',
      DYNAMODB_MAX_CONCURRENCY: '1',
      DYNAMODB_MAX_QUEUE: '1',
    });
    try {
      const server = app.getHttpServer();
      const results = await Promise.all([0, 1, 2].map(() => request(server).get(USER_PATH)));
      const codes = results.map((res) => `${res.status} ${res.body.code}`).sort();
      expect(codes).toEqual(['503 database_busy', '503 database_timeout', '503 database_timeout']);
      results.forEach((res) => expect(res.headers['retry-after']).toBeDefined());
    } finally {
      await app.close();
      await frozen.close();
    }
  });

  it('throttling is 503 database_throttled after the SDK retries', async () => {
    let calls = 0;
    const throttling = createHttpServer((req, res) => {
      calls++;
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' }),
        );
      });
    });
    await new Promise<void>((resolve) => throttling.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(throttling.address() as AddressInfo).port}`;
    const app = await appAgainst(endpoint, { DYNAMODB_MAX_ATTEMPTS: '2', DYNAMODB_REQUEST_TIMEOUT_MS: '10000' });
    try {
      const res = await request(app.getHttpServer()).get(USER_PATH).expect(503);
      expect(res.body.code).toBe('database_throttled');
      expect(res.headers['retry-after']).toBe('1');
      expect(calls).toBe(2);
    } finally {
      await app.close();
      await new Promise((resolve) => throttling.close(resolve));
    }
  });

  it('a missing table is 503 database_unavailable with Retry-After, never a 500', async () => {
    const app = await appAgainst(ENDPOINT, { DYNAMODB_TABLE_NAME: 'no-such-table-here' });
    try {
      const server = app.getHttpServer();
      for (const res of [
        await request(server).get(USER_PATH),
        await request(server).get('/api/v1/posts'),
        await request(server).post('/api/v1/auth/register').send({ email: 'x@example.com', password: 'password-1' }),
      ]) {
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('database_unavailable');
        expect(res.headers['retry-after']).toBe('5');
        expect(JSON.stringify(res.body)).not.toMatch(/ResourceNotFound|no-such-table/);
      }
    } finally {
      await app.close();
    }
  });
});

describe('start-up (e2e)', () => {
  const config = (endpoint: string, env: Record<string, string> = {}) =>
    loadConfig({
      NODE_ENV: 'test',
      DYNAMODB_ENDPOINT: endpoint,
      DYNAMODB_TABLE_NAME: `startup-${Date.now()}`,
      DYNAMODB_CONNECT_TIMEOUT_MS: '300',
      DYNAMODB_REQUEST_TIMEOUT_MS: '1000',
      ...env,
    });

  it('retries an unreachable database with backoff, then stops with one plain sentence', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const failure = await prepareDatabase(config(endpoint, { DYNAMODB_STARTUP_WAIT_SECONDS: '2' }), silent).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StartupError);
    const message = (failure as Error).message;
    expect(message).toBe(
      `DynamoDB at ${endpoint} did not answer within 2 s (DYNAMODB_STARTUP_WAIT_SECONDS); start it or point DYNAMODB_ENDPOINT at a running one.`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('waits for a database that comes up during the wait', async () => {
    // Nothing listens on the port until a forwarder to the real engine opens it, 1.5 s later.
    const port = await freePort();
    const target = new URL(ENDPOINT);
    const sockets: Socket[] = [];
    const forwarder = createServer((socket) => {
      const out = new NetSocket();
      sockets.push(socket, out);
      out.connect(Number(target.port), target.hostname, () => socket.pipe(out).pipe(socket));
      out.on('error', () => socket.destroy());
      socket.on('error', () => out.destroy());
    });
    const opening = new Promise<void>((resolve) =>
      setTimeout(() => forwarder.listen(port, '127.0.0.1', () => resolve()), 1500),
    );
    try {
      const prepared = await prepareDatabase(
        config(`http://127.0.0.1:${port}`, { DYNAMODB_STARTUP_WAIT_SECONDS: '60', DYNAMODB_CREATE_TABLE: 'true' }),
        silent,
      );
      expect(prepared.config.dynamo.endpoint).toBe(`http://127.0.0.1:${port}`);
    } finally {
      await opening;
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => forwarder.close(resolve));
    }
  });

  it('says in one sentence that the table is missing where start-up may not create it', async () => {
    const failure = await prepareDatabase(
      config(ENDPOINT, { DYNAMODB_CREATE_TABLE: 'false', DYNAMODB_TABLE_NAME: 'never-created' }),
      silent,
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toMatch(/^The table never-created does not exist at .*db:create-table/);
  });

  it('says in one sentence that the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const app = await appAgainst(ENDPOINT);
    try {
      const failure = await listen(app, port, '127.0.0.1').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as Error).message).toBe(
        `Port ${port} on 127.0.0.1 is already in use by another process; stop that process or set PORT to a free port.`,
      );
    } finally {
      await app.close();
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
