import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRootLogger, REDACTED_PATHS } from '../src/logging/logger.js';
import { AppMetrics } from '../src/metrics/app-metrics.js';
import { createTestApp, LogCapture, signUp, type TestApp } from './helpers/test-app.js';

/** /metrics answers only with its token (issue 12). */
const METRICS_TOKEN = 'observability-metrics-token-0123';

/** Parses the Prometheus text format into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

const accessLines = (logs: LogCapture) => logs.lines.filter((line) => line.msg !== undefined && 'durationMs' in line);

describe('Access log, request ids and metrics', () => {
  let t: TestApp;
  const logs = new LogCapture();
  /** The lines the app wrote while starting, at the default level of production (`info`). */
  let startup: Record<string, unknown>[];

  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN }, { logLevel: 'info', logStream: logs });
    startup = logs.lines;
  });
  afterAll(() => t.close());

  it('starts with a few lines: one counts the routes, with their true prefixes, none per route (review 18c)', () => {
    const contexts = startup.map((line) => line.context);
    expect(contexts).not.toContain('RouterExplorer');
    expect(contexts).not.toContain('RoutesResolver');
    expect(contexts).not.toContain('InstanceLoader');
    expect(startup.filter((line) => /Mapped \{|Controller \{/.test(String(line.msg)))).toEqual([]);
    const routes = startup.filter((line) => line.context === 'Routes');
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({
      level: 30,
      msg: expect.stringMatching(
        /^\d+ routes mapped: \d+ under \/api\/v1, \d+ Conduit under \/api, 4 without a prefix \(\/health\/live, \/health\/ready, \/health\/worker, \/metrics\); LOG_LEVEL=verbose lists each$/,
      ),
    });
    expect(startup.length).toBeLessThan(10);
  });

  it('writes one JSON access line per request with the route, status, duration, DynamoDB work, user and request id', async () => {
    const user = await signUp(t);
    logs.raw.length = 0;
    const res = await t.api.get('/api/v1/users/me').set('authorization', user.bearer).set('x-request-id', 'trace-42.a');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-42.a');

    const lines = accessLines(logs);
    expect(lines).toHaveLength(1);
    const [line] = lines as [Record<string, unknown>];
    expect(line).toMatchObject({
      level: 30,
      requestId: 'trace-42.a',
      route: '/api/v1/users/me',
      userId: user.userId,
      req: { method: 'GET', url: '/api/v1/users/me' },
      res: { statusCode: 200 },
      msg: 'GET /api/v1/users/me 200',
    });
    expect(typeof line.durationMs).toBe('number');
    const db = line.db as { calls: number; rcu: number; wcu: number; ms: number };
    // The token check (one BatchGetItem of session and user) and the profile read.
    expect(db.calls).toBeGreaterThanOrEqual(1);
    expect(db.rcu).toBeGreaterThan(0);
    expect(typeof line.time).toBe('string');
  });

  it('generates a request id when none or a malformed one is sent, and puts it in problem+json bodies', async () => {
    logs.raw.length = 0;
    const missing = await t.api.get('/api/v1/posts/by-slug/no-such-post-here');
    expect(missing.status).toBe(404);
    const generated = String(missing.headers['x-request-id']);
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(missing.body).toMatchObject({ code: 'post_not_found', requestId: generated });

    const spoofed = await t.api.get('/api/v1/posts').set('x-request-id', 'bad id\twith "quotes"');
    expect(spoofed.status).toBe(200);
    expect(spoofed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await t.api.get('/api/v1/posts').set('x-request-id', 'a'.repeat(129));
    expect(tooLong.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    // Rejected before routing (body parser): still an id, a problem body and an access line.
    const malformed = await t.http
      .post('/api/v1/auth/login')
      .set('content-type', 'application/json')
      .set('x-request-id', 'broken-json-1')
      .send('{"email":');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ code: 'malformed_json', requestId: 'broken-json-1' });
    const lines = accessLines(logs);
    expect(lines.find((l) => l.requestId === generated)).toMatchObject({ res: { statusCode: 404 }, level: 30 });
    expect(lines.find((l) => l.requestId === 'broken-json-1')).toMatchObject({ route: 'unmatched' });
  });

  it('writes the audit line of a write whose client hung up (DELETE /users/me): the real outcome, with the user and the request id (review 22a L8)', async () => {
    const user = await signUp(t);
    logs.raw.length = 0;
    // A server of its own over the app, so that a raw socket can hang up right after sending.
    const server = createServer(t.app.getHttpAdapter().getInstance() as RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // The deactivation asks for the current password (review 22a M1).
      const body = JSON.stringify({ password: user.password });
      const request = [
        'DELETE /api/v1/users/me HTTP/1.1',
        'Host: localhost',
        `Authorization: ${user.bearer}`,
        'X-Request-Id: hung-up-delete-1',
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
      // Gone as soon as the request is written: no answer is read.
      await new Promise<void>((resolve) => socket.write(request, () => resolve()));
      socket.destroy();
      const audited = () => logs.lines.find((line) => line.audit === true && line.requestId === 'hung-up-delete-1');
      for (let waited = 0; !audited() && waited < 20_000; waited += 50) await delay(50);
      // The access line says the client hung up; the audit line says what the request really did.
      const access = accessLines(logs).find((line) => line.requestId === 'hung-up-delete-1');
      expect(access).toMatchObject({ res: { statusCode: 499 }, aborted: true });
      expect(audited()).toMatchObject({
        level: 30,
        context: 'Audit',
        action: 'user.deactivated',
        actor: user.userId,
        actorKind: 'self',
        subject: user.userId,
        status: 'inactive',
        mode: 'owner',
        msg: 'audit user.deactivated',
      });
      expect(JSON.stringify(audited())).not.toContain(user.accessToken);
      expect(JSON.stringify(audited())).not.toContain(user.password);
      // And it is so: the account is deactivated.
      const signIn = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      expect([signIn.status, signIn.body.code]).toEqual([403, 'account_inactive']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('redacts the Authorization header, passwords and tokens in URLs', async () => {
    const user = await signUp(t);
    logs.raw.length = 0;
    await t.api
      .post('/api/v1/auth/login')
      .set('authorization', user.bearer)
      .send({ email: user.email, password: user.password });
    await t.http.get(`/api/v1/posts?token=${user.refreshToken}`);
    expect(logs.raw.length).toBeGreaterThanOrEqual(2);
    expect(logs.text).not.toContain(user.accessToken);
    expect(logs.text).not.toContain(user.refreshToken);
    expect(logs.text).not.toContain(user.password);
    const login = accessLines(logs).find((l) => l.route === '/api/v1/auth/login') as { req: { headers: object } };
    expect(login.req.headers).toMatchObject({ authorization: '[Redacted]' });
    expect(accessLines(logs).some((l) => (l.req as { url: string }).url === '/api/v1/posts?token=[Redacted]')).toBe(
      true,
    );
  });

  it('redacts secret fields wherever a log call puts them', () => {
    const captured = new LogCapture();
    const logger = createRootLogger(t.config, { level: 'info', stream: captured });
    logger.info({ password: 'hunter2-secret', user: { passwordHash: '$2b$04$abc', token: 'tok-secret' } }, 'x');
    logger.info(
      { body: { newPassword: 'n3w-secret', refreshToken: 'rt-secret', link: 'https://x/?token=l-secret' } },
      'y',
    );
    for (const secret of ['hunter2-secret', '$2b$04$abc', 'tok-secret', 'n3w-secret', 'rt-secret', 'l-secret']) {
      expect(captured.text).not.toContain(secret);
    }
    expect(captured.lines[0]).toMatchObject({ password: '[Redacted]', user: { passwordHash: '[Redacted]' } });
    expect(REDACTED_PATHS).toContain('req.headers.authorization');
  });

  it('serves Prometheus metrics: HTTP histograms by route and status, DynamoDB by operation, process figures', async () => {
    const user = await signUp(t);
    await t.api.get('/api/v1/posts');
    await t.api.get('/api/v1/users/me').set('authorization', user.bearer);
    await t.http.get('/api/v1/no-such-route/123');

    const res = await t.http.get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(res.text);
    const value = (key: string) => samples.get(key) ?? 0;

    expect(
      value('http_request_duration_seconds_count{method="GET",route="/api/v1/posts",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('http_request_duration_seconds_count{method="POST",route="/api/v1/auth/register",status="201"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/v1/posts",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    // Raw paths never become label values.
    expect(res.text).not.toContain('/no-such-route/123');

    expect(
      value('dynamodb_operation_duration_seconds_count{operation="BatchGetItem",outcome="ok"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('dynamodb_operation_duration_seconds_count{operation="TransactWriteItems",outcome="ok"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(value('dynamodb_consumed_capacity_units_total{operation="BatchGetItem",kind="read"}')).toBeGreaterThan(0);
    expect(
      value('dynamodb_consumed_capacity_units_total{operation="TransactWriteItems",kind="write"}'),
    ).toBeGreaterThan(0);

    expect(samples.has('process_cpu_user_seconds_total')).toBe(true);
    expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(res.text).not.toContain('stream_worker_');
  });

  it('shows the stream worker figures once a worker reports through the hook', async () => {
    const worker = t.app.get(AppMetrics).streamWorker();
    worker.records.inc({ event: 'INSERT', outcome: 'ok' }, 3);
    worker.lagSeconds.set(1.5);
    const samples = parseMetrics((await t.http.get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`)).text);
    expect(samples.get('stream_worker_records_total{event="INSERT",outcome="ok"}')).toBe(3);
    expect(samples.get('stream_worker_lag_seconds')).toBe(1.5);
  });
});
