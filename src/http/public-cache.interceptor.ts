import { createHash } from 'node:crypto';
import { PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Clock } from '../common/clock/clock.js';

interface Entry {
  /** The answer's JSON text: a hit sends it as it is, without serialising the page again. */
  json: string;
  etag: string;
  expiresAt: number;
}

/** What Express's `res.json` sends as the type; a hit's text goes out with the same. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** Query parameters that are whole numbers: `?limit=020` is the page of `?limit=20`. */
const NUMERIC_QUERY = new Set(['limit', 'offset']);

/** A whole number the way validation reads it (`020`, `20.0`, `2e1`, `+20`, ` 20` are all 20), else as given. */
function canonicalNumber(value: string): string {
  const number = Number(value);
  return value.trim() !== '' && Number.isSafeInteger(number) ? String(number) : value;
}

/**
 * The entry of a request: the route template, its parameters, and the query as parsed, keys sorted
 * and numbers without leading zeros. So the spellings of one page (`?limit=020`, `?%6Cimit=20`,
 * `/api/v1/POSTS`) share one entry instead of each missing it (review 5, #3); a query parameter
 * the route does not take is refused before the handler (400, no DynamoDB call, nothing kept):
 * every `@PublicCache()` route has a `@Query()` DTO, `NoQueryDto` when it takes none (review 19a
 * M4, checked at start-up by `publicCacheRoutes`). Distinct pages
 * (another `limit`, filter or cursor) stay distinct entries.
 */
export function cacheKeyOf(req: Pick<Request, 'route' | 'path' | 'params' | 'query'>): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  const query = Object.entries(req.query ?? {})
    .map(([name, value]): [string, unknown] => [
      name,
      NUMERIC_QUERY.has(name) && typeof value === 'string' ? canonicalNumber(value) : value,
    ])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const params = Object.entries(req.params ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([typeof route === 'string' ? route : req.path, params, query]);
}

/**
 * Entries one route keeps at most; the oldest goes first (a Map iterates in insertion order). Each
 * route has its own map, so many distinct feed pages (tags, cursors) cannot push the category tree
 * or one post out.
 */
const MAX_ENTRIES = 1000;

/** Marks the cache's own Express handlers, for the start-up check of their place. */
const CACHE_HANDLER = Symbol('publicCache');

/** The handlers marked `@PublicCache()`, with their controllers (read for their paths at start-up). */
const cacheable: { controller: object; handler: object; key: string | symbol }[] = [];

/**
 * Marks a public GET route whose anonymous answers may be cached briefly (`publicCache`). It only
 * records the route: the cache is an Express handler in front of the route, mounted only when
 * `PUBLIC_CACHE_SECONDS` > 0 (was a Nest interceptor, which Nest runs through rxjs Observables, a
 * ReplaySubject and client-disconnect listeners on every request of the route, signed-in and
 * cache off included: about 0.1-0.2 ms of CPU a request).
 */
export const PublicCache =
  (): MethodDecorator =>
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): void =>
    void cacheable.push({ controller: target.constructor, handler: descriptor.value as object, key });

/** `/a/b` from path pieces as Nest joins them (`posts` + `/` is `/posts`, `posts` + `:id` is `/posts/:id`). */
const joinPath = (...pieces: string[]): string =>
  '/' +
  pieces
    .flatMap((piece) => piece.split('/'))
    .filter((part) => part !== '')
    .join('/');

/** A `@PublicCache()` route as Nest registers it: its path template, handler and controller. */
export interface PublicCacheRoute {
  path: string;
  handler: object;
  controller: object;
}

/** The `@PublicCache()` routes under `prefix` (`api/v1`), with the paths Nest registers them at. */
export function publicCacheRoutes(prefix: string): PublicCacheRoute[] {
  return cacheable.map(({ controller, handler, key }) => {
    const own = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
    const base = Reflect.getMetadata(PATH_METADATA, controller) as unknown;
    if (typeof own !== 'string' || typeof base !== 'string') {
      throw new Error('@PublicCache() goes on a route with one path, in a controller with one path');
    }
    const path = joinPath(prefix, base, own);
    if (!takesWholeQuery(controller, key)) {
      throw new Error(
        `@PublicCache() route ${path} takes no @Query() DTO: each made-up parameter would be a cache miss (use NoQueryDto)`,
      );
    }
    return { path, handler, controller };
  });
}

/**
 * Whether the handler validates its whole query with a DTO (`@Query() query: SomeDto`), so that a
 * parameter it does not declare is a 400 before any database call, not a cache entry of its own.
 */
export function takesWholeQuery(controller: object, key: string | symbol): boolean {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, key) ?? {}) as Record<string, { data?: unknown }>;
  const prototype = (controller as { prototype: object }).prototype;
  const types = (Reflect.getMetadata('design:paramtypes', prototype, key) ?? []) as unknown[];
  return Object.entries(args).some(([slot, { data }]) => {
    // Nest's key for an argument: `<paramtype>:<index>`.
    const [type, index] = slot.split(':').map(Number);
    const dto = types[index ?? -1];
    return type === Number(RouteParamtypes.QUERY) && data === undefined && typeof dto === 'function' && dto !== Object;
  });
}

/** The path templates of the `@PublicCache()` routes under `prefix` (`api/v1`), as Nest registers them. */
export const publicCachePaths = (prefix: string): string[] => publicCacheRoutes(prefix).map(({ path }) => path);

/**
 * A short-lived cache for public pages read anonymously (feeds, a post, the category tree):
 * for `PUBLIC_CACHE_SECONDS` an anonymous GET of the same URL is answered from memory, with no
 * DynamoDB call, and every anonymous answer says `Cache-Control: public, max-age=<n>` with an
 * ETag so that a CDN or browser may keep it too. On a route that personalises (`@OptionalAuth()`),
 * requests with an Authorization header (whose answers depend on the caller) pass through untouched;
 * on a route that never reads the header (`@Public()`, `ignoresToken`), the header does not matter
 * (review 16b L2: else any `Authorization: x` made every request a full read of the feed). HEAD is
 * answered like GET, headers only (review 16b L3).
 *
 * Why: the front page read 10,000 times/s would otherwise be 10,000 Queries/s on one month's
 * index partition (3,000 RCU/s per partition); with this each instance reads it once per
 * period. The price is that an anonymous reader sees a change up to that many seconds late.
 * Each app instance has its own cache (nothing shared between instances, nothing to invalidate).
 *
 * Mounted with `app.get(path, ...)` on each `@PublicCache()` route's path, before Nest's routes:
 * Express gives it the same route template, parameters and query as the route itself. A hit
 * answers there (Nest's guards would let an anonymous reader through these public routes anyway,
 * and the handler's validation never ran on a hit before either); a miss goes on to the route, and
 * the answer the route sends with `res.json` is kept when it is a 200 of that very route.
 */
export function publicCache(
  seconds: number,
  clock: Clock,
  maxEntries = MAX_ENTRIES,
): (path: string, ignoresToken?: boolean) => RequestHandler {
  const setHeaders = (res: Response, entry: Entry, now: number): void => {
    const left = Math.max(1, Math.ceil((entry.expiresAt - now) / 1000));
    res.setHeader('Cache-Control', `public, max-age=${left}`);
    res.setHeader('ETag', entry.etag);
  };
  return (path, ignoresToken = false) => {
    const entries = new Map<string, Entry>();
    const handler = (req: Request, res: Response, next: NextFunction): void => {
      // Express's GET routes also take HEAD, which `res.send` answers with the headers only: the
      // same entry serves both, and a HEAD's miss (the route computes the whole body) fills it.
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      if (!ignoresToken) {
        // The answer differs with and without a token: a CDN that keeps the public one must not
        // hand it to a signed-in reader (or the reverse).
        res.vary('Authorization');
        // A token that is sent is authenticated by the guard (a malformed or badly signed one is a
        // 401 before any database call), and the answer is the caller's own.
        if (req.headers.authorization !== undefined) return next();
      }
      const key = cacheKeyOf(req);
      const now = clock.now().getTime();
      const hit = entries.get(key);
      if (hit && hit.expiresAt > now) {
        setHeaders(res, hit, now);
        res.setHeader('Content-Type', JSON_TYPE);
        res.send(hit.json);
        return;
      }
      const json = res.json;
      res.json = function keep(this: Response, body: unknown) {
        // Our public pages answer JSON objects; anything else, another status, or another route
        // that took the path (`/posts/:id` also matches a static `/posts/mine`) is left alone.
        const route = (req.route as { path?: unknown } | undefined)?.path;
        // An answer computed for a signed-in caller (a guard set `req.user`) is never kept, whatever
        // the route's marking says: a route marked public that authenticates on its own (review 17a M1)
        // would otherwise hand one reader's answer to everyone and to any CDN.
        const personal = (req as { user?: unknown }).user !== undefined;
        if (personal || res.statusCode !== 200 || typeof body !== 'object' || body === null || route !== path) {
          return json.call(this, body);
        }
        const text = JSON.stringify(body);
        // A route's own ETag (an item version, which If-Match relies on) is kept; else a body hash.
        const own = res.getHeader('ETag');
        const entry: Entry = {
          json: text,
          etag:
            typeof own === 'string' ? own : `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`,
          expiresAt: now + seconds * 1000,
        };
        entries.delete(key);
        entries.set(key, entry);
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
        setHeaders(res, entry, now);
        // What `res.json` does with the app's settings (no replacer, no spacing), without a second stringify.
        if (!res.getHeader('Content-Type')) res.setHeader('Content-Type', 'application/json');
        return res.send(text);
      };
      next();
    };
    return Object.assign(handler, { [CACHE_HANDLER]: true });
  };
}

/**
 * Mounts the cache on every `@PublicCache()` route when `seconds` > 0 (nothing at all otherwise),
 * in front of the routes Nest registers later. `ignoresToken` says which routes never read the
 * `Authorization` header (`@Public()`: their answer is the same for every caller); it is passed in
 * because the auth modes live in `identity`, which depends on this module. `checkPublicCacheRoutes`
 * verifies, once Nest's routes exist, that each path is one of them.
 */
export function mountPublicCache(
  express: Express,
  prefix: string,
  seconds: number,
  clock: Clock,
  ignoresToken: (route: PublicCacheRoute) => boolean = () => false,
): void {
  // The routes are checked (paths, query DTOs) even when the cache is off: a wrong one fails every run.
  const routes = publicCacheRoutes(prefix);
  if (seconds <= 0) return;
  const cacheFor = publicCache(seconds, clock);
  for (const route of routes) express.get(route.path, cacheFor(route.path, ignoresToken(route)));
}

/** Express 5's router layers, as far as this check reads them. */
export interface RouterLayer {
  route?: { path?: unknown; methods?: Record<string, boolean>; stack?: { handle?: unknown }[] };
}

/** Whether a router layer is the cache's own GET route in front of a Nest route (not a route of the app). */
export const isCacheLayer = (layer: RouterLayer): boolean =>
  layer.route?.stack?.some((part) => (part.handle as Record<symbol, unknown> | undefined)?.[CACHE_HANDLER]) ?? false;

/**
 * Throws unless every `@PublicCache()` path is a GET route Nest registered (run after `init`): a path
 * computed differently from Nest's would otherwise leave the cache unused without a sign.
 */
export function checkPublicCacheRoutes(express: Express, prefix: string): void {
  const stack = (express as unknown as { router: { stack: RouterLayer[] } }).router.stack;
  const nestGets = stack.filter((layer) => layer.route?.methods?.get);
  for (const path of publicCachePaths(prefix)) {
    // The cache's own layer is one GET route with the path; Nest's is another, after it (Express
    // runs layers in order: behind the route, the cache would never answer).
    const layers = nestGets.filter((layer) => layer.route?.path === path);
    const cache = layers.findIndex(isCacheLayer);
    const route = layers.findIndex((layer) => !isCacheLayer(layer));
    if (route < 0) throw new Error(`@PublicCache() route ${path} is not a route of the app`);
    if (cache < 0 || cache > route) throw new Error(`@PublicCache() route ${path} has no cache in front of it`);
  }
}
