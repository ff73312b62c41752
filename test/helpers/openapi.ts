import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Schema = Record<string, unknown>;
interface Operation {
  method: string;
  path: string;
  pattern: RegExp;
  params: number;
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  requestBody?: { content?: Record<string, { schema: Schema }> };
  security?: unknown[];
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path' | 'pattern' | 'params'>>>;
  components: { schemas: Record<string, Schema> };
}

/**
 * Object schemas get `additionalProperties: false` unless they say otherwise, so a response
 * field that the document does not declare fails the test: the docs cannot drift from the code.
 */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(node))
    copy[key] = key === 'properties' ? mapValues(value as Schema, closeObjects) : closeObjects(value);
  if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined)
    copy.additionalProperties = false;
  return copy;
}
const mapValues = (obj: Schema, fn: (v: unknown) => unknown): Schema =>
  Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));

/** Validates responses against the app's own OpenAPI document (fetched from `/docs-json`). */
export class OpenApiValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly operations: Operation[];
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi', components: { schemas: closeObjects(document.components.schemas) } });
    this.operations = Object.entries(document.paths)
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({
          ...operation,
          method: method.toUpperCase(),
          path,
          params: (path.match(/\{/g) ?? []).length,
          pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        })),
      )
      .sort((a, b) => a.params - b.params);
  }

  static async fromApp(http: TestAgent): Promise<OpenApiValidator> {
    const res = await http.get('/docs-json');
    if (res.status !== 200) throw new Error(`GET /docs-json answered ${res.status}`);
    return new OpenApiValidator(res.body as OpenApiDocument);
  }

  /** The operation that serves a method and a concrete path, if the document has one. */
  find(method: string, path: string): Operation | undefined {
    const bare = path.split('?')[0] ?? path;
    return this.operations.find((op) => op.method === method.toUpperCase() && op.pattern.test(bare));
  }

  /** Throws with a readable message when the response is not what the document promises. */
  assertResponse(res: Response): void {
    const req = (res as unknown as { req: { method: string; path: string } }).req;
    const contentType =
      String(res.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const operation = this.find(req.method, req.path);
    const where = `${req.method} ${req.path} -> ${res.status}`;
    if (!operation) {
      // Unknown routes still answer with a problem document.
      this.validate({ $ref: 'openapi#/components/schemas/ProblemDto' }, res.body, `${where} (undocumented route)`);
      return;
    }
    const response = operation.responses[String(res.status)] ?? operation.responses.default;
    if (!response)
      throw new Error(`${where}: status ${res.status} is not documented for ${operation.method} ${operation.path}`);
    if (!response.content || Object.keys(response.content).length === 0) {
      if (res.text && res.text.length > 0) throw new Error(`${where}: the document declares no body, but one was sent`);
      return;
    }
    const media = response.content[contentType];
    if (!media) {
      throw new Error(
        `${where}: content type "${contentType}" not documented (documented: ${Object.keys(response.content).join(', ')})`,
      );
    }
    // Text bodies (metrics) are checked as the string they are.
    this.validate(media.schema, contentType.startsWith('text/') ? res.text : res.body, where);
  }

  private validate(schema: Schema, body: unknown, where: string): void {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(this.resolveRefs(schema));
      this.cache.set(key, validate);
    }
    if (!validate(body)) {
      throw new Error(
        `${where}: body does not match the OpenAPI document:\n${this.ajv.errorsText(validate.errors, { separator: '\n' })}\nbody: ${JSON.stringify(body).slice(0, 1000)}`,
      );
    }
  }

  /** Points `#/components/schemas/X` references at the registered document. */
  private resolveRefs(node: unknown): Schema {
    return JSON.parse(
      JSON.stringify(node).replace(/"#\/components\/schemas\//g, '"openapi#/components/schemas/'),
    ) as Schema;
  }
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A supertest agent whose every response is checked against the OpenAPI document. */
export function validatingAgent(http: TestAgent, validator: OpenApiValidator) {
  const wrap = (method: Method) => (url: string) => http[method](url).expect((res) => validator.assertResponse(res));
  return { get: wrap('get'), post: wrap('post'), put: wrap('put'), patch: wrap('patch'), delete: wrap('delete') };
}
export type ValidatingAgent = ReturnType<typeof validatingAgent>;
