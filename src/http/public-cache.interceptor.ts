import { createHash } from 'node:crypto';
import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { type Observable, of, tap } from 'rxjs';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';

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
 * the route does not take is refused before the handler (400, no DynamoDB call). Distinct pages
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

/** Entries one app keeps at most; the oldest goes first (a Map iterates in insertion order). */
const MAX_ENTRIES = 1000;

/**
 * A short-lived cache for public pages read anonymously (feeds, a post, the category tree):
 * for `PUBLIC_CACHE_SECONDS` an anonymous GET of the same URL is answered from memory, with no
 * DynamoDB call, and every anonymous answer says `Cache-Control: public, max-age=<n>` with an
 * ETag so that a CDN or browser may keep it too. Requests with an Authorization header (whose
 * answers depend on the caller) pass through untouched.
 *
 * Why: the front page read 10,000 times/s would otherwise be 10,000 Queries/s on one month's
 * index partition (3,000 RCU/s per partition); with this each instance reads it once per
 * period. The price is that an anonymous reader sees a change up to that many seconds late.
 * Each app instance has its own cache (nothing shared between instances, nothing to invalidate).
 */
@Injectable()
export class PublicCacheInterceptor implements NestInterceptor {
  private readonly entries = new Map<string, Entry>();
  private readonly seconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.seconds = config.publicCacheSeconds;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (this.seconds <= 0 || req.method !== 'GET') return next.handle();
    // The answer differs with and without a token: a CDN that keeps the public one must not
    // hand it to a signed-in reader (or the reverse).
    res.vary('Authorization');
    if (req.headers.authorization !== undefined) return next.handle();
    const key = cacheKeyOf(req);
    const now = this.clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) {
      this.setHeaders(res, hit, now);
      // A string reaches `res.send` as it is (Nest serialises only objects), with the type set here.
      res.setHeader('Content-Type', JSON_TYPE);
      return of(hit.json);
    }
    return next.handle().pipe(
      tap((body) => {
        // Our public pages answer JSON objects; anything else is left alone.
        if (res.statusCode !== 200 || typeof body !== 'object' || body === null) return;
        const json = JSON.stringify(body);
        // A route's own ETag (an item version, which If-Match relies on) is kept; else a body hash.
        const own = res.getHeader('ETag');
        const entry: Entry = {
          json,
          etag:
            typeof own === 'string' ? own : `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`,
          expiresAt: now + this.seconds * 1000,
        };
        this.entries.delete(key);
        this.entries.set(key, entry);
        if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
        this.setHeaders(res, entry, now);
      }),
    );
  }

  private setHeaders(res: Response, entry: Entry, now: number): void {
    const left = Math.max(1, Math.ceil((entry.expiresAt - now) / 1000));
    res.setHeader('Cache-Control', `public, max-age=${left}`);
    res.setHeader('ETag', entry.etag);
  }
}

/** Marks a public GET route whose anonymous answers may be cached briefly (`PublicCacheInterceptor`). */
export const PublicCache = () => UseInterceptors(PublicCacheInterceptor);
