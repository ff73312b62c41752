import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { AUTH_MODE_EXTENSION, type AuthMode, type ConduitAuthMode } from '../identity/auth.decorators.js';
import { ProblemDto } from '../common/dto/problem.dto.js';
import { problemResponse } from '../http/api-problem-responses.decorator.js';
import { conduitErrorResponse } from '../conduit/conduit-errors.filter.js';

/** The security scheme of user access tokens (declared once; operations refer to it by this name). */
export const BEARER_SCHEME = 'bearer';
/** The scrape credential of `/metrics` (`METRICS_TOKEN`), not a user token. */
export const METRICS_SCHEME = 'metricsToken';
/** The Conduit (RealWorld) token: `Authorization: Token <jwt>` (src/conduit/conduit-auth.ts). */
export const CONDUIT_SCHEME = 'conduitToken';

/** Tags in the order Swagger UI shows them, each with what it groups. */
const TAGS: [name: string, description: string][] = [
  ['auth', 'Registration, sign-in, token refresh, sessions, password reset and email verification.'],
  ['me', "The signed-in user's own account and profile, personal-data export and account deletion."],
  ['users', 'Public user pages, by id or username.'],
  ['follows', 'Following users: follow, unfollow, followers and following lists.'],
  ['feed', "The signed-in reader's personal feed: posts of the authors they follow."],
  ['users (admin)', 'User administration: listing, roles, status and deletion (admins only).'],
  ['posts', 'Posts, feeds, likes and views. Drafts are visible to their author and staff only.'],
  ['comments', 'Threaded comments on posts, their moderation and likes.'],
  ['categories', 'The hierarchical category tree (changed by admins).'],
  ['tags', 'Flat tags with post counts (changed by moderators and admins).'],
  ['events (admin)', 'Outbound events (also sent to webhooks) and dead-lettered webhook deliveries (admins only).'],
  [
    'conduit',
    'The RealWorld ("Conduit") API under `/api`, for existing Conduit front ends: its own shapes, ' +
      '`{"errors": {...}}` bodies and `Authorization: Token <jwt>` (docs/conduit.md).',
  ],
  ['health', 'Liveness and readiness probes and Prometheus metrics, outside `/api/v1`.'],
];

const BODY_METHODS = new Set(['post', 'put', 'patch']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The controllers of `src/workflows/` serve routes of a feature's resource (`DELETE /users/me`
 * is `meRemove`, as it was when MeController held it): their operation ids keep that resource,
 * so moving a route into a workflow does not rename a client's method.
 */
const WORKFLOW_CONTROLLER_RESOURCES: Record<string, string> = {
  MeAccountController: 'Me',
  UsersAdminErasureController: 'UsersAdmin',
  CategoryDeletionController: 'Categories',
};

/**
 * `PostsController.feed` -> `postsFeed`: names a client generator turns into sensible methods
 * (`client.postsFeed()`), unique because a controller's method names are.
 */
export function operationIdOf(controllerKey: string, methodKey: string): string {
  const resource = WORKFLOW_CONTROLLER_RESOURCES[controllerKey] ?? controllerKey.replace(/Controller$/, '');
  return `${resource.charAt(0).toLowerCase()}${resource.slice(1)}${methodKey.charAt(0).toUpperCase()}${methodKey.slice(1)}`;
}

/** Builds the OpenAPI document of the app as it is configured (what `/docs-json` serves). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Publishing API')
    .setDescription(
      'REST API of a publishing platform on one DynamoDB table. Errors are RFC 9457 ' +
        '`application/problem+json` bodies with a stable `code` (the `ErrorCode` enum); branch on it, ' +
        'never on `detail`. Lists are pages of `{ items, nextCursor }`: pass `nextCursor` back as `cursor` ' +
        'until it is null. Single resources carry an `ETag`; send it back as `If-Match` to change them.',
    )
    .setVersion('1.0')
    .setLicense('MIT', 'https://opensource.org/license/mit')
    // Relative: Swagger UI and generated clients call the host they loaded the document from
    // (`http://localhost:3000` under `npm start`); the deployed address is the operator's to add.
    .addServer('/', 'The server that serves this document')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'The `accessToken` of `POST /api/v1/auth/login`, `/register` or `/refresh`.',
      },
      BEARER_SCHEME,
    )
    // `addSecurity`, not `addBearerAuth`: that adds `bearerFormat: JWT`, and METRICS_TOKEN is an opaque string.
    .addSecurity(METRICS_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'The `METRICS_TOKEN` the server is configured with (an opaque string of 16 or more characters).',
    })
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description: '`Token <token>` (or `Bearer <token>`), the `token` of `POST /api/users` or `/api/users/login`.',
      },
      CONDUIT_SCHEME,
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ProblemDto],
    operationIdFactory: operationIdOf,
  });
  const problems: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) problems.push(...finishOperation(path, method, operation));
    }
  }
  // A mistake in a controller's decorators, found on every start and in every test.
  if (problems.length > 0) throw new Error(`The OpenAPI document is incomplete:\n${problems.join('\n')}`);
  return document;
}

/**
 * What decorators cannot say well on each operation:
 * - `security` from the route's auth mode (`@Public()`: `[]`, or a scheme of its own such as the
 *   metrics token; `@OptionalAuth()`: anonymous or bearer; otherwise the bearer `@Authenticated()` set);
 * - the errors that middleware in front of every handler gives (body size, media type and JSON
 *   syntax on requests with a body; 503 on every route that reaches DynamoDB), so that no
 *   controller has to repeat them.
 */
function finishOperation(path: string, method: string, operation: OperationObject): string[] {
  const problems: string[] = [];
  const where = `${method.toUpperCase()} ${path}`;
  const extensible = operation as OperationObject & Record<string, unknown>;
  const mode = extensible[AUTH_MODE_EXTENSION] as AuthMode | ConduitAuthMode | undefined;
  delete extensible[AUTH_MODE_EXTENSION];
  // Conduit routes document their own errors, in the RealWorld format (src/conduit), the body
  // steps' (400, 413, 415, which answer before any route) too: `conduitBodyErrors` renders them so.
  const conduit = mode === 'conduit' || mode === 'conduit-optional' || mode === 'conduit-public';
  if (mode === 'conduit') operation.security = [{ [CONDUIT_SCHEME]: [] }];
  else if (mode === 'conduit-optional') operation.security = [{}, { [CONDUIT_SCHEME]: [] }];
  else if (mode === 'public' || mode === 'conduit-public') operation.security ??= [];
  else if (mode === 'optional') operation.security = [{}, { [BEARER_SCHEME]: [] }];
  else if (!operation.security?.some((requirement) => BEARER_SCHEME in requirement)) {
    // The global guard requires a token on this route: the document must say so.
    problems.push(`${where}: needs a token but is not @Authenticated() (or mark it @Public()/@OptionalAuth())`);
  }

  const add = (status: number) => {
    operation.responses[String(status)] ??= (
      conduit ? conduitErrorResponse(status) : problemResponse(status)
    ) as ResponseObject;
  };
  if (BODY_METHODS.has(method) || operation.requestBody) [400, 413, 415].forEach(add);
  if (!conduit && path.startsWith('/api/')) add(503);
  operation.responses = sortByStatus(operation.responses);

  if (!operation.summary || !operation.description) {
    problems.push(`${where}: needs a summary and a description (a JSDoc comment with @remarks)`);
  }
  return problems;
}

const sortByStatus = <T>(responses: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
