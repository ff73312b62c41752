import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { getMetadataStorage } from 'class-validator';
import { operationIdOf } from '../src/openapi/openapi-document.js';
import { ERROR_CODES } from '../src/common/errors/error-codes.js';
import {
  ADMIN_ENV,
  createTestApp,
  signInAdmin,
  signUp,
  signUpWithRole,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';
import { builtScript, CHILD_PROCESS_TIMEOUT_MS } from './helpers/built-scripts.js';
import { readmeApiTable } from './helpers/readme-api-table.js';

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Schema = { properties?: Record<string, { format?: string; type?: string }> };

/** Routes that take no user token: an `Authorization` header is not even read. */
const PUBLIC = [
  'GET /health/live',
  'GET /health/ready',
  'GET /health/worker',
  'GET /metrics',
  'POST /api/v1/auth/register',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/password-reset/request',
  'POST /api/v1/auth/password-reset/confirm',
  'POST /api/v1/auth/verify-email/request',
  'POST /api/v1/auth/verify-email/confirm',
  'POST /api/v1/auth/email-change/confirm',
  'POST /api/v1/auth/email-change/revert',
  'GET /api/v1/users/{id}/followers',
  'GET /api/v1/users/{id}/following',
  'GET /api/v1/categories',
  'GET /api/v1/categories/by-slug/{slug}',
  'GET /api/v1/tags',
  'GET /api/v1/tags/by-slug/{slug}',
  'GET /api/v1/posts',
  'GET /api/v1/users/{id}/posts',
  'GET /api/v1/users/{id}/comments',
];
/** Public routes whose answer depends on who asks (drafts for their author, likedByMe, followedByMe, one view per user). */
const OPTIONAL_AUTH = [
  'GET /api/v1/users/{id}',
  'GET /api/v1/users/by-username/{username}',
  'GET /api/v1/posts/{id}',
  'GET /api/v1/posts/by-slug/{slug}',
  'POST /api/v1/posts/{id}/views',
  'GET /api/v1/posts/{postId}/comments',
];

describe('OpenAPI contract (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  let author: SignedIn;
  const operations: [name: string, operation: Operation][] = [];

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
    author = await signUpWithRole(t, admin, 'user');
    for (const [path, methods] of Object.entries(t.openapi.document.paths))
      for (const [method, operation] of Object.entries(methods))
        operations.push([`${method.toUpperCase()} ${path}`, operation as unknown as Operation]);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the document', () => {
    it(
      'is the one `npm run openapi` writes (and the client is generated from): the served document and the command agree',
      async () => {
        const out = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
        await promisify(execFile)(process.execPath, [builtScript('openapi'), '--out', out]);
        expect(t.openapi.document).toEqual(JSON.parse(readFileSync(out, 'utf8')));
      },
      CHILD_PROCESS_TIMEOUT_MS,
    );

    it("declares the bearer scheme once, and each operation's security as the guard enforces it", () => {
      const schemes = (t.openapi.document as unknown as { components: { securitySchemes: Record<string, object> } })
        .components.securitySchemes;
      expect(schemes).toEqual({
        bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
        // An opaque METRICS_TOKEN, not a JWT: no bearerFormat.
        metricsToken: { type: 'http', scheme: 'bearer', description: expect.any(String) },
        conduitToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Authorization' }),
      });
      const seen = { public: [] as string[], optional: [] as string[] };
      for (const [name, operation] of operations) {
        const statuses = Object.keys(operation.responses);
        if ((operation as { tags?: string[] }).tags?.includes('conduit')) {
          // The Conduit routes (src/conduit) take `Token <jwt>` on their own scheme; test/conduit.e2e-spec.ts.
          const security = JSON.stringify(operation.security);
          expect({ name, security }).toEqual({
            name,
            security: expect.stringMatching(/^\[\]$|^\[(\{\},)?\{"conduitToken":\[\]\}\]$/),
          });
          if (security !== '[]')
            expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(['401']) });
        } else if (name === 'GET /metrics') {
          expect(operation.security).toEqual([{ metricsToken: [] }]);
          seen.public.push(name);
        } else if (JSON.stringify(operation.security) === '[]') {
          seen.public.push(name);
        } else if (JSON.stringify(operation.security) === JSON.stringify([{}, { bearer: [] }])) {
          // Anonymous or signed in; a bad or expired token is a 401, documented.
          expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(['401']) });
          seen.optional.push(name);
        } else {
          expect({ name, security: operation.security }).toEqual({ name, security: [{ bearer: [] }] });
          expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(['401', '403']) });
        }
      }
      expect(seen.public.sort()).toEqual([...PUBLIC].sort());
      expect(seen.optional.sort()).toEqual([...OPTIONAL_AUTH].sort());
    });

    it('is what README.md\'s API at a glance lists: every /api/v1 operation, "token optional" where the document says so', () => {
      const rows = readmeApiTable();
      const native = operations.filter(
        ([name, operation]) =>
          name.includes(' /api/v1/') && !(operation as { tags?: string[] }).tags?.includes('conduit'),
      );
      const wrong: string[] = [];
      for (const [name, operation] of native) {
        const row = rows.find((candidate) => candidate.operations.includes(name));
        const security = JSON.stringify(operation.security);
        if (!row) wrong.push(`${name}: not in the table`);
        else if (security === JSON.stringify([{}, { bearer: [] }]) && !row.who.includes('token optional'))
          wrong.push(`${name}: token optional in the document, "${row.who}" in the table`);
        else if (security === '[]' && !row.who.includes('anyone'))
          wrong.push(`${name}: public in the document, "${row.who}" in the table`);
        else if (security !== '[]' && row.who === 'anyone')
          wrong.push(`${name}: takes a token in the document, "anyone" (which ignores one) in the table`);
      }
      expect(wrong).toEqual([]);
      expect(native.length).toBeGreaterThan(60);
    });

    it('has the error catalogue as the enum of the problem `code`', () => {
      const schemas = t.openapi.document.components.schemas as Record<string, { enum?: string[] }>;
      expect(schemas.ErrorCode?.enum).toEqual([...ERROR_CODES]);
      expect(JSON.stringify(schemas.ProblemDto)).toContain('#/components/schemas/ErrorCode');
    });

    it('gives every operation a unique camelCase operationId, a summary, a description and a defined tag', () => {
      const tags = new Set(
        (t.openapi.document as unknown as { tags: { name: string; description: string }[] }).tags.map((tag) => {
          expect(tag.description.length).toBeGreaterThan(10);
          return tag.name;
        }),
      );
      const ids = operations.map(([, operation]) => operation.operationId);
      expect(new Set(ids).size).toBe(operations.length);
      for (const [name, operation] of operations) {
        expect({ name, id: operation.operationId }).toEqual({ name, id: expect.stringMatching(/^[a-z][A-Za-z]+$/) });
        expect({ name, summary: Boolean(operation.summary), description: Boolean(operation.description) }).toEqual({
          name,
          summary: true,
          description: true,
        });
        for (const tag of (operation as { tags?: string[] }).tags ?? []) expect(tags.has(tag)).toBe(true);
      }
      expect((t.openapi.document as unknown as { servers: unknown[] }).servers.length).toBeGreaterThan(0);
    });

    it('declares every error response as problem+json, and 503 on every route that reaches the database', () => {
      for (const [name, operation] of operations) {
        // The Conduit (RealWorld) routes answer `{"errors": {...}}`, the body parser's errors too.
        const conduit = (operation as { tags?: string[] }).tags?.includes('conduit') === true;
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          expect({ name, status, content: Object.keys(response.content ?? {}) }).toEqual({
            name,
            status,
            content: [conduit ? 'application/json' : 'application/problem+json'],
          });
        }
        if (conduit) expect({ name, has503: '503' in operation.responses }).toEqual({ name, has503: true });
        if (name.includes(' /api/v1/'))
          expect({ name, has503: '503' in operation.responses }).toEqual({ name, has503: true });
        if (/^(POST|PUT|PATCH) /.test(name))
          expect({ name, statuses: Object.keys(operation.responses) }).toEqual({
            name,
            statuses: expect.arrayContaining(['400', '413', '415']),
          });
      }
    });

    it('has every property class-validator validates on each DTO with a schema (review 21a L3: the plugin dropped `sortOrder`)', async () => {
      // The DTO classes as `nest build` emits them (the Swagger plugin's metadata included): a
      // property the plugin drops (as it did for `@Min(-1_000_000)`) is validated but undocumented.
      const dist = join(process.cwd(), 'dist');
      const dtoFiles = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) return dtoFiles(path);
          return /\.dto\.js$/.test(name) || (dir.endsWith('/dto') && name.endsWith('.js')) ? [path] : [];
        });
      const schemas = t.openapi.document.components.schemas as Record<string, Schema>;
      const storage = getMetadataStorage();
      const compared: string[] = [];
      const missing: string[] = [];
      for (const file of dtoFiles(dist)) {
        for (const [name, exported] of Object.entries(await import(file))) {
          if (typeof exported !== 'function' || !schemas[name]) continue;
          const validated = new Set(
            storage
              .getTargetValidationMetadatas(exported as new () => object, '', true, false)
              .map((m) => m.propertyName),
          );
          if (validated.size === 0) continue;
          compared.push(name);
          const documented = new Set(Object.keys(schemas[name].properties ?? {}));
          for (const property of validated) if (!documented.has(property)) missing.push(`${name}.${property}`);
        }
      }
      expect(compared).toEqual(expect.arrayContaining(['CreateCategoryDto', 'UpdateCategoryDto', 'RegisterDto']));
      expect(missing).toEqual([]);
    });

    it('documents every query and path parameter a controller validates, and no other (the body check above, for `@Query()` and `@Param()`)', async () => {
      // Each route handler in the built controllers, found in the document by the operationId the
      // document builder gives it; its `@Query()`/`@Param()` arguments are compared with the
      // operation's parameters: a validated one missing from the document is a parameter clients
      // cannot see, a documented one nothing validates is answered 400 by the whitelist.
      const dist = join(process.cwd(), 'dist');
      const controllerFiles = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) return controllerFiles(path);
          return name.endsWith('.controller.js') ? [path] : [];
        });
      const operations = new Map<string, { route: string; parameters: { in: string; name: string }[] }>();
      for (const [path, item] of Object.entries(t.openapi.document.paths as Record<string, Record<string, Operation>>))
        for (const [method, operation] of Object.entries(item))
          if (operation.operationId)
            operations.set(operation.operationId, {
              route: `${method.toUpperCase()} ${path}`,
              parameters: (operation as { parameters?: { in: string; name: string }[] }).parameters ?? [],
            });
      const storage = getMetadataStorage();
      const places = { [RouteParamtypes.QUERY]: 'query', [RouteParamtypes.PARAM]: 'path' } as Record<number, string>;
      const handlers: string[] = [];
      const problems: string[] = [];
      for (const file of controllerFiles(dist)) {
        for (const [name, exported] of Object.entries(await import(file))) {
          if (typeof exported !== 'function' || !exported.prototype) continue;
          for (const method of Object.getOwnPropertyNames(exported.prototype)) {
            const handler = Object.getOwnPropertyDescriptor(exported.prototype, method)?.value as unknown;
            if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
            const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, exported, method) ?? {}) as Record<
              string,
              { index: number; data?: string }
            >;
            const operation = operations.get(operationIdOf(name, method));
            if (!operation) {
              problems.push(`${name}.${method}: no operation in the document`);
              continue;
            }
            handlers.push(operation.route);
            const types = (Reflect.getMetadata('design:paramtypes', exported.prototype, method) ??
              []) as (new () => object)[];
            const validated: Record<string, Set<string>> = { query: new Set(), path: new Set() };
            for (const [key, { index, data }] of Object.entries(args)) {
              const place = places[Number(key.split(':')[0])];
              if (!place) continue;
              const names =
                data !== undefined
                  ? [data]
                  : storage.getTargetValidationMetadatas(types[index], '', true, false).map((m) => m.propertyName);
              for (const parameter of names) validated[place].add(parameter);
            }
            for (const place of ['query', 'path']) {
              const documented = new Set(operation.parameters.filter((p) => p.in === place).map((p) => p.name));
              for (const parameter of validated[place])
                if (!documented.has(parameter)) problems.push(`${operation.route}: ${place} ${parameter} undocumented`);
              for (const parameter of documented)
                if (!validated[place].has(parameter))
                  problems.push(`${operation.route}: ${place} ${parameter} not validated`);
            }
          }
        }
      }
      expect(handlers.length).toBe(operations.size);
      expect(handlers).toEqual(expect.arrayContaining(['GET /api/v1/auth/sessions', 'GET /api/v1/posts/{id}']));
      expect(problems).toEqual([]);
    });

    it('marks every timestamp `format: date-time`', () => {
      const timestamps: string[] = [];
      for (const [name, schema] of Object.entries(t.openapi.document.components.schemas as Record<string, Schema>))
        for (const [property, definition] of Object.entries(schema.properties ?? {}))
          if (/At$/.test(property)) {
            timestamps.push(`${name}.${property}`);
            expect({ property: `${name}.${property}`, format: definition.format }).toEqual({
              property: `${name}.${property}`,
              format: 'date-time',
            });
          }
      expect(timestamps.length).toBeGreaterThan(20);
    });
  });

  describe('real answers match it', () => {
    it('on the main routes, as a client uses them (every t.api response is validated against the document)', async () => {
      const category = (
        await t.api.post('/api/v1/categories').set('authorization', admin.bearer).send({ name: 'Contract' }).expect(201)
      ).body;
      const tag = (
        await t.api.post('/api/v1/tags').set('authorization', admin.bearer).send({ name: 'Contract Tag' }).expect(201)
      ).body;
      await t.api.get(`/api/v1/categories/by-slug/${category.slug}`).expect(200);
      await t.api.get(`/api/v1/tags/by-slug/${tag.slug}`).expect(200);
      await t.api.get('/api/v1/tags?sort=popular&limit=1').expect(200);

      const created = await t.api
        .post('/api/v1/posts')
        .set('authorization', author.bearer)
        .set('idempotency-key', 'contract-1')
        .send({ title: 'Contract post', content: 'Body', categoryId: category.id, tagIds: [tag.id] })
        .expect(201);
      const post = created.body;
      expect(post.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).send({}).expect(200);
      await t.api.get(`/api/v1/posts/${post.id}`).expect(200);
      const mine = await t.api
        .get(`/api/v1/posts/by-slug/${post.slug}`)
        .set('authorization', author.bearer)
        .expect(200);
      expect(mine.body.likedByMe).toBe(false);
      await t.api.put(`/api/v1/posts/${post.id}/like`).set('authorization', author.bearer).expect(200);
      await t.api.post(`/api/v1/posts/${post.id}/views`).expect(200);
      const feed = await t.api.get('/api/v1/posts?limit=1').expect(200);
      expect(feed.body.items).toHaveLength(1);
      await t.api
        .post(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', admin.bearer)
        .send({ content: 'Hi' })
        .expect(201);
      await t.api.get(`/api/v1/posts/${post.id}/comments`).expect(200);
      await t.api.get('/api/v1/users/me').set('authorization', author.bearer).expect(200);
      await t.api.get('/api/v1/auth/sessions').set('authorization', author.bearer).expect(200);
      await t.api.get(`/api/v1/users/${author.userId}`).expect(200);
      await t.api.post('/api/v1/auth/refresh').send({ refreshToken: author.refreshToken }).expect(200);
    });

    it('on errors: problem+json with a catalogue code, from handlers, guards and middleware', async () => {
      const codes = [
        (await t.api.get('/api/v1/no-such-route').expect(404)).body.code,
        (await t.api.get('/api/v1/posts/AAAAAAAAAAAAAAAAAAAAA').expect(404)).body.code,
        (await t.api.post('/api/v1/auth/login').send({ email: 'nope' }).expect(400)).body.code,
        (await t.api.get('/api/v1/users/me').expect(401)).body.code,
        (await t.api.post('/api/v1/tags').set('authorization', author.bearer).send({ name: 'x' }).expect(403)).body
          .code,
      ];
      const unsupported = await t.http
        .post('/api/v1/auth/login')
        .set('content-type', 'text/plain')
        .send('hello')
        .expect(415);
      t.openapi.assertResponse(unsupported);
      const tooLarge = await t.http
        .post('/api/v1/auth/login')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(300 * 1024) }))
        .expect(413);
      t.openapi.assertResponse(tooLarge);
      codes.push(JSON.parse(unsupported.text).code, JSON.parse(tooLarge.text).code);
      expect(codes).toEqual([
        'route_not_found',
        'post_not_found',
        'validation_failed',
        'missing_token',
        'insufficient_role',
        'unsupported_media_type',
        'payload_too_large',
      ]);
    });

    it('the old slug paths are gone: `/categories/{slug}` and `/tags/{slug}` are unknown routes', async () => {
      expect((await t.api.get('/api/v1/tags/contract-tag').expect(404)).body.code).toBe('route_not_found');
      expect((await t.api.get('/api/v1/categories/contract').expect(404)).body.code).toBe('route_not_found');
    });
  });

  describe('security as documented', () => {
    it('a public route ignores any Authorization header; an optional-auth route refuses a bad one with 401', async () => {
      const post = (
        await t.api
          .post('/api/v1/posts')
          .set('authorization', author.bearer)
          .send({ title: 'Draft', content: 'x' })
          .expect(201)
      ).body;
      // Public: the token is not read, so a stale one left on a client does no harm.
      await t.api.get('/api/v1/posts').set('authorization', 'Bearer not-a-jwt').expect(200);
      await t.api.get('/api/v1/tags').set('authorization', 'Basic abc').expect(200);
      // Optional: no token is anonymous (a draft is hidden), a valid one personalises, a bad one is 401.
      expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(404)).body.code).toBe('post_not_found');
      await t.api.get(`/api/v1/posts/${post.id}`).set('authorization', author.bearer).expect(200);
      const bad = await t.api.get(`/api/v1/posts/${post.id}`).set('authorization', 'Bearer not-a-jwt').expect(401);
      expect(bad.body.code).toBe('invalid_token');
      const other = await signUp(t);
      await t.api.post('/api/v1/auth/logout').set('authorization', other.bearer).expect(204);
      const revoked = await t.api
        .get(`/api/v1/posts/${post.id}/comments`)
        .set('authorization', other.bearer)
        .expect(401);
      expect(revoked.body.code).toBe('session_revoked');
    });
  });
});
