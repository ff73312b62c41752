import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import request, { type Response } from 'supertest';
import { createApp } from '../src/app.setup.js';
import { loadConfig } from '../src/config/app-config.js';
import { createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { freePort } from '../src/dynamo/embedded-dynamo.js';
import { tableDefinition } from '../src/dynamo/table.definition.js';
import { ensureTable } from '../src/dynamo/table.setup.js';
import { createTestApp, dynamoCost, type TestApp } from './helpers/test-app.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

describe('app (e2e)', () => {
  let t: TestApp;
  let metrics: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    metrics = await createTestApp({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await t.close();
    await metrics.close();
  });

  describe('health', () => {
    it('GET /health/live answers without touching the database', async () => {
      const res = await t.api.get('/health/live').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
      expect(dynamoCost(res).calls).toBe(0);
    });

    it('GET /health/ready checks the table', async () => {
      const res = await t.api.get('/health/ready').expect(200);
      expect(res.body).toEqual({ status: 'ok', table: 'ACTIVE' });
    });

    it('GET /health/ready answers 503 while DynamoDB is unreachable', async () => {
      const down = await createTestApp({ DYNAMODB_TABLE_NAME: 'missing-table' });
      try {
        const res = await down.api.get('/health/ready').expect(503);
        expect(res.body.code).toBe('database_unavailable');
        expect(res.headers['retry-after']).toBe('5');
      } finally {
        await down.close();
      }
    });
  });

  describe('table setup', () => {
    it('brings a table made by an older version up to the definition, and is idempotent', async () => {
      const client = createDynamoClient(t.config.dynamo);
      const tableName = `old-${Date.now()}`;
      try {
        const full = tableDefinition(tableName);
        // An older table: only GSI1 and GSI2.
        const old = full.GlobalSecondaryIndexes!.slice(0, 2);
        const used = new Set(['PK', 'SK', ...old.flatMap((g) => g.KeySchema!.map((k) => k.AttributeName))]);
        await client.send(
          new CreateTableCommand({
            ...full,
            GlobalSecondaryIndexes: old,
            AttributeDefinitions: full.AttributeDefinitions!.filter((a) => used.has(a.AttributeName)),
          }),
        );
        // Made seconds ago and without a baseline, it would be waited for as a young table whose
        // creator has yet to write one (15 s each): no creator comes here, so no wait.
        const noCreator = { client, tableName, baselineWait: { maxWaitMs: 0 } };
        expect(await ensureTable(noCreator)).toBe(false);
        expect(await ensureTable(noCreator)).toBe(false);
        const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
        expect(Table!.GlobalSecondaryIndexes!.map((g) => g.IndexName).sort()).toEqual([
          'GSI1',
          'GSI2',
          'GSI3',
          'GSI4',
          'GSI5',
          'GSI6',
        ]);
        // The comment pointers' index projects the path only (issue 15).
        expect(Table!.GlobalSecondaryIndexes!.find((g) => g.IndexName === 'GSI6')!.Projection).toEqual({
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['path'],
        });
        const gsi5 = Table!.AttributeDefinitions!.find((a) => a.AttributeName === 'GSI5SK');
        expect(gsi5?.AttributeType).toBe('N');
      } finally {
        await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
        client.destroy();
      }
    });
  });

  describe('metrics', () => {
    it('exports the DynamoDB figures in the Prometheus text format', async () => {
      await metrics.api
        .post('/api/v1/auth/register')
        .send({ email: 'metrics@example.com', password: 'password-1' })
        .expect(201);
      const res = await metrics.api.get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const value = (sample: string) => Number(new RegExp(`^${sample} ([\\d.]+)$`, 'm').exec(res.text)?.[1]);
      expect(
        value('dynamodb_operation_duration_seconds_count\\{operation="TransactWriteItems",outcome="ok"\\}'),
      ).toBeGreaterThan(0);
      expect(
        value('dynamodb_consumed_capacity_units_total\\{operation="TransactWriteItems",kind="write"\\}'),
      ).toBeGreaterThan(0);
      expect(res.text).toContain('# TYPE dynamodb_consumed_capacity_units_total counter');
    });
  });

  describe('errors', () => {
    it('answers an unknown route with a 404 problem', async () => {
      const res = await t.api.get('/api/v1/nothing-here').expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: 'route_not_found', instance: '/api/v1/nothing-here' });
    });

    it("redacts a mailed link's token in the problem's instance, as in the logs (review 18c)", async () => {
      const res = await t.http.get('/verify-email?token=secret-token-value&x=1').expect(404);
      expect(res.body.instance).toBe('/verify-email?token=[Redacted]&x=1');
    });

    it('answers paths outside the API prefix with the same 404 problem, not an HTML page', async () => {
      for (const path of ['/', '/api', '/foo/bar']) {
        const res = await t.http.get(path).expect(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 404, code: 'route_not_found', instance: path });
        expect(res.body.requestId).toEqual(expect.any(String));
      }
      // A POST with a body too: the body is read (and refused or accepted) before the 404.
      expect((await t.http.post('/foo').send({ a: 1 }).expect(404)).body.code).toBe('route_not_found');
    });

    it('turns a refused database connection into 503 database_unavailable, not a 500', async () => {
      const app = await appAgainst(`http://127.0.0.1:${await freePort()}`);
      try {
        const res = await request(app.getHttpServer()).get('/api/v1/users/AAAAAAAAAAAAAAAAAAAAA').expect(503);
        expect(res.body).toMatchObject({ code: 'database_unavailable', status: 503 });
        expect(res.headers['retry-after']).toBeDefined();
        expect((await request(app.getHttpServer()).get('/health/ready').expect(503)).body.code).toBe(
          'database_unavailable',
        );
        await request(app.getHttpServer()).get('/health/live').expect(200);
      } finally {
        await app.close();
      }
    });

    it('turns a frozen database into 503 database_timeout within the request timeout', async () => {
      // A server that accepts connections and never answers.
      const sockets: Socket[] = [];
      const frozen = createServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
      const { port } = frozen.address() as AddressInfo;
      const app = await appAgainst(`http://127.0.0.1:${port}`, { DYNAMODB_REQUEST_TIMEOUT_MS: '300' });
      try {
        const started = Date.now();
        const res = await request(app.getHttpServer()).get('/api/v1/users/AAAAAAAAAAAAAAAAAAAAA').expect(503);
        expect(res.body.code).toBe('database_timeout');
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await app.close();
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => frozen.close(resolve));
      }
    });
  });

  describe('request accounting', () => {
    it('reports calls and consumed capacity in Server-Timing', async () => {
      const res = await t.api
        .post('/api/v1/auth/register')
        .send({ email: 'cost@example.com', password: 'password-1' })
        .expect(201);
      // One transaction: the account, its claims, the session and the verification link's mail
      // request (the registration limit is off in the test apps, so its counter adds no call).
      expect(res.headers['server-timing']).toMatch(/^db;dur=[\d.]+;desc="dynamodb calls=1 rcu=0 wcu=\d+(\.\d+)?"$/);
      expect(dynamoCost(res).wcu).toBeGreaterThan(0);
    });

    it('is also present on error responses', async () => {
      const res = await t.api.get('/api/v1/users/AAAAAAAAAAAAAAAAAAAAA').expect(404);
      expect(dynamoCost(res)).toMatchObject({ calls: 1, wcu: 0 });
    });

    it('can be switched off', async () => {
      const quiet = await createTestApp({ SERVER_TIMING: 'false' });
      try {
        const res = await quiet.api.get('/health/live').expect(200);
        expect(res.headers['server-timing']).toBeUndefined();
      } finally {
        await quiet.close();
      }
    });
  });

  describe('OpenAPI document', () => {
    it('is served at /docs-json and Swagger UI at /docs, every script and stylesheet of the page too', async () => {
      const ui = await t.http.get('/docs').expect(200);
      expect(ui.text).toContain('swagger-ui');
      expect(t.openapi.document.paths).toBeDefined();
      const assets = [...ui.text.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((match) => match[1]);
      expect(assets).toEqual(expect.arrayContaining(['docs/swagger-ui.css', 'docs/swagger-ui-init.js']));
      for (const asset of assets) await t.http.get(`/${asset}`).expect(200);
    });

    it("sends /docs/ and /docs/index.html to /docs, where the page's assets resolve (review 18c: a blank page)", async () => {
      for (const [from, to] of [
        ['/docs/', '../docs'],
        ['/docs/?url=x', '../docs?url=x'],
        ['/docs/index.html', '../docs'],
      ]) {
        const res = await t.http.get(from).expect(301);
        expect({ from, location: res.headers.location }).toEqual({ from, location: to });
        // Where a browser lands: the page above.
        expect(new URL(res.headers.location, `http://host${from}`).pathname).toBe('/docs');
      }
      await t.http.get('/docs-json').expect(200);
    });

    it('lists every route of the app with its request and response schemas', () => {
      const routes = listRoutes(t);
      expect(routes.length).toBeGreaterThan(0);
      for (const { method, path } of routes) {
        const operation = t.openapi.find(method, path.replace(/:(\w+)/g, 'x'));
        expect({ route: `${method} ${path}`, documented: Boolean(operation) }).toEqual({
          route: `${method} ${path}`,
          documented: true,
        });
        const success = Object.entries(operation!.responses).find(([status]) => status.startsWith('2'));
        expect(success).toBeDefined();
        if (['POST', 'PUT', 'PATCH'].includes(method) && operation!.requestBody) {
          expect(operation!.requestBody.content?.['application/json']?.schema).toBeDefined();
        }
      }
    });

    // Security per operation (bearer, public, optional) is checked in test/openapi-contract.e2e-spec.ts.

    it('describes DTOs field by field (the Swagger plugin ran)', () => {
      const schemas = t.openapi.document.components.schemas as Record<
        string,
        { properties?: Record<string, unknown>; required?: string[] }
      >;
      expect(Object.keys(schemas.RegisterDto?.properties ?? {})).toEqual(
        expect.arrayContaining(['email', 'password', 'firstName', 'lastName', 'username']),
      );
      expect(schemas.RegisterDto?.required).toEqual(expect.arrayContaining(['email', 'password']));
      expect(Object.keys(schemas.MeDto?.properties ?? {})).toContain('emailVerified');
      expect(Object.keys(schemas.ProblemDto?.properties ?? {})).toEqual(
        expect.arrayContaining(['type', 'title', 'status', 'code']),
      );
    });

    it('rejects a response with a field the document does not declare', () => {
      const fake = {
        status: 404,
        headers: { 'content-type': 'application/problem+json' },
        body: { type: 't', title: 'x', status: 404, detail: 'd', instance: '/', code: 'c', secret: 'leak' },
        text: '{}',
        req: { method: 'GET', path: '/api/v1/users/AAAAAAAAAAAAAAAAAAAAA' },
      } as unknown as Response;
      expect(() => t.openapi.assertResponse(fake)).toThrow(/must NOT have additional properties/);
    });
  });
});

/** Routes registered in the Express router (what the app really serves). */
function listRoutes(t: TestApp): { method: string; path: string }[] {
  const router = (
    t.app.getHttpAdapter().getInstance() as {
      router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
    }
  ).router;
  return router.stack
    .filter((layer) => layer.route && Object.keys(layer.route.methods).length === 1) // multi-method layers are Nest's not-found handlers
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((method) => ({ method: method.toUpperCase(), path: layer.route!.path })),
    )
    .filter(({ path }) => !path.startsWith('/docs'));
}

/** The real app against a DynamoDB endpoint that is down or frozen (no table set-up possible). */
async function appAgainst(endpoint: string, env: Record<string, string> = {}): Promise<NestExpressApplication> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: endpoint,
    DYNAMODB_MAX_ATTEMPTS: '1',
    DYNAMODB_CONNECT_TIMEOUT_MS: '500',
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    ...env,
  });
  const app = await createApp(config, { logLevel: 'error' });
  await app.init();
  return app;
}
