import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { SwaggerModule } from '@nestjs/swagger';
import type { DestinationStream, LevelWithSilent, Logger as PinoLogger } from 'pino';
import { AppModule } from './app.module.js';
import { conduitBodyErrors } from './conduit/conduit-errors.filter.js';
import { jsonBody } from './http/json-body.middleware.js';
import { metricsAccess } from './http/metrics-access.middleware.js';
import { ProblemDetailsFilter, problemErrorMiddleware, routeNotFound } from './http/problem-details.filter.js';
import {
  checkPublicCacheRoutes,
  isCacheLayer,
  mountPublicCache,
  type RouterLayer,
} from './http/public-cache.interceptor.js';
import { requestContext } from './http/request-context.middleware.js';
import { createValidationPipe } from './common/validation/validation.js';
import { CLOCK, type Clock } from './common/clock/clock.js';
import type { AppConfig } from './config/app-config.js';
import { readsNoToken } from './identity/auth.decorators.js';
import { AppLogger } from './logging/app-logger.js';
import { type AccessLog, createAccessLog, createRootLogger } from './logging/logger.js';
import type { Mailer } from './mail/mailer.js';
import { AppMetrics } from './metrics/app-metrics.js';
import { buildOpenApiDocument } from './openapi/openapi-document.js';

export const API_PREFIX = 'api/v1';
/** Probes stay outside the versioned prefix, where load balancers expect them. */
const UNPREFIXED = ['health/live', 'health/ready', 'health/worker', 'metrics'];
/** The Conduit (RealWorld) controllers declare their own `/api/...` paths (docs/conduit.md). */
const CONDUIT_ROUTES = 'api/{*path}';

/** Other addresses of Swagger UI's page (see `docsAliases`). */
const DOCS_ALIASES = new Set(['/docs/', '/docs/index.html']);

/**
 * Sends `/docs/` and `/docs/index.html` to `/docs`, the page's one address, its query kept.
 * @nestjs/swagger serves its page at those too, but picks the page's asset paths by whether the
 * URL (query included) ends in a slash: `/docs/?x` and `/docs/index.html` got a page whose
 * scripts and stylesheet were 404, a blank page (review 18c). The location is relative
 * (`/docs/` and `/docs/index.html` both resolve `../docs` to `/docs`), so it holds behind a proxy
 * that serves the API under a path prefix, as the page's own relative asset paths do.
 */
function docsAliases(req: Request, res: Response, next: NextFunction): void {
  const url = req.originalUrl;
  const query = url.indexOf('?');
  if (!DOCS_ALIASES.has(query < 0 ? url : url.slice(0, query))) return next();
  res.redirect(301, `../docs${query < 0 ? '' : url.slice(query)}`);
}

export interface CreateAppOptions {
  /** Overrides `LOG_LEVEL` (tests pass `error` or `silent`). */
  logLevel?: LevelWithSilent;
  /** Where log lines go instead of stdout (tests capture them). */
  logStream?: DestinationStream;
  /** The root logger to use (`main.ts` makes it first, to log start-up the same way). */
  logger?: PinoLogger;
  /** Replaces the logging mailer (tests pass an `InMemoryMailer`). */
  mailer?: Mailer;
  /** Replaces the system clock (tests pass a `SettableClock`). */
  clock?: Clock;
  /**
   * False: the app is created but not initialised, so no start-up hook runs and nothing is sent to
   * the database (`npm run openapi` reads only the routes and DTOs). Default true.
   */
  initialise?: boolean;
}

/**
 * The one place that turns the Nest application into our HTTP API: request accounting,
 * security headers, JSON-only bodies with a size limit, `/api/v1` routing, validation,
 * problem+json errors and the OpenAPI docs. `main.ts` and every e2e test use it, so the
 * tests exercise exactly what production serves.
 */
export function configureApp(app: NestExpressApplication, config: AppConfig, accessLog: AccessLog): void {
  app.disable('x-powered-by');
  // Our ETags come from item versions; Express's body hashes would only confuse clients.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  // First: the request id, the access line, the metrics, Server-Timing and helmet's headers cover
  // every request, including body-parser rejections.
  app.use(
    requestContext({
      accessLog,
      metrics: app.get(AppMetrics),
      serverTiming: config.serverTiming,
      httpsHeaders: config.httpsHeaders,
    }),
  );
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    // Every answer varies by Origin, not only those to an allowed one (the cors package adds `Vary`
    // only there): else a CDN keeps a public page fetched without an Origin and serves it to the
    // front end without `Access-Control-Allow-Origin` (review 22a L3).
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.vary('Origin');
      next();
    });
    app.enableCors({
      // A function, so that another origin gets no CORS headers at all (not even on a preflight).
      origin: (origin: string | undefined, done: (error: Error | null, allow?: boolean) => void) =>
        done(null, origin !== undefined && allowed.has(origin)),
      credentials: config.corsCredentials,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key'],
      exposedHeaders: ['ETag', 'Retry-After', 'Location'],
      maxAge: 600,
    });
  }
  // Before routing, so it guards whatever serves /metrics.
  app.use('/metrics', metricsAccess(config.metricsToken));
  app.use(jsonBody(config.bodyLimit));
  // The body steps' errors on Conduit's paths in the RealWorld envelope (docs/conduit.md), when the
  // module is on; the rest problem+json.
  if (config.conduitApi) app.use(conduitBodyErrors(`/${API_PREFIX}`));
  app.use(problemErrorMiddleware);
  // In front of Nest's routes, on the `@PublicCache()` ones only, and only when enabled. A `@Public()`
  // route never reads the token (the guard lets every request through), so its cache ignores it too.
  mountPublicCache(
    app.getHttpAdapter().getInstance(),
    API_PREFIX,
    config.publicCacheSeconds,
    app.get<Clock>(CLOCK),
    ({ handler, controller }) => readsNoToken(handler, controller),
  );
  app.setGlobalPrefix(API_PREFIX, { exclude: [...UNPREFIXED, CONDUIT_ROUTES] });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  if (config.docs) {
    app.use('/docs', docsAliases);
    SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
      jsonDocumentUrl: 'docs-json',
      swaggerOptions: { persistAuthorization: true },
    });
  }
}

/**
 * The one start-up line about routes, with the prefixes they really have (review 18c: Nest wrote a
 * line per route and per controller, about 110 at `info`, and its controller lines showed
 * `/api/v1` on the probes and Conduit's routes, which do not have it; `AppLogger` moves those
 * lines to `verbose`). Swagger UI's routes are not counted: the bootstrap line names them; nor are
 * the public cache's GET layers in front of Nest's routes (PUBLIC_CACHE_SECONDS, on in production).
 */
export function routesMapped(app: NestExpressApplication): string {
  const { router } = app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } };
  // One method a layer: Nest's (or the cache's, skipped); several: its not-found handlers.
  const paths = router.stack
    .flatMap((layer) => {
      const { route } = layer;
      const nests = route?.methods && Object.keys(route.methods).length === 1 && !isCacheLayer(layer);
      return nests && typeof route.path === 'string' ? [route.path] : [];
    })
    .filter((path) => !path.startsWith('/docs'));
  const versioned = paths.filter((path) => path.startsWith(`/${API_PREFIX}/`));
  const conduit = paths.filter((path) => !versioned.includes(path) && path.startsWith('/api/'));
  const bare = [...new Set(paths.filter((path) => !path.startsWith('/api/')))];
  return (
    `${paths.length} routes mapped: ${versioned.length} under /${API_PREFIX}, ${conduit.length} Conduit under /api, ` +
    `${paths.length - versioned.length - conduit.length} without a prefix (${bare.join(', ')}); LOG_LEVEL=verbose lists each`
  );
}

/** Creates the configured application, initialised (unless asked not to) but not yet listening. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const logger = options.logger ?? createRootLogger(config, { level: options.logLevel, stream: options.logStream });
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, { mailer: options.mailer, clock: options.clock }),
    { bodyParser: false, bufferLogs: true },
  );
  app.useLogger(new AppLogger(logger));
  configureApp(app, config, createAccessLog(logger));
  // Initialised here so that the final 404 goes after every route Nest registers (init is idempotent:
  // `listen` and the test helpers call it again).
  if (options.initialise === false) return app;
  await app.init();
  new Logger('Routes').log(routesMapped(app));
  if (config.publicCacheSeconds > 0) checkPublicCacheRoutes(app.getHttpAdapter().getInstance(), API_PREFIX);
  app.use(routeNotFound);
  return app;
}
