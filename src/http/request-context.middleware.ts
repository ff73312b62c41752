import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { attachUsage, DynamoUsage, runWithUsage } from '../dynamo/request-accounting.js';
import { type AccessLog, CLIENT_CLOSED_REQUEST } from '../logging/logger.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import { routeOf } from '../metrics/http-metrics.middleware.js';

/**
 * The headers helmet's defaults set (CSP, HSTS, `X-Content-Type-Options`, ...), read once at
 * start-up by running helmet against a recording response. With its defaults every value is a
 * constant, so the request pipeline sets this list itself instead of running helmet's dozen
 * middlewares per request, and the headers stay exactly helmet's, whichever version is installed.
 * (helmet also removes `X-Powered-By`; the app disables that header altogether.)
 *
 * `https` (`HTTPS_HEADERS`, on in production): whether browsers are told to use HTTPS only,
 * `Strict-Transport-Security` and the CSP's `upgrade-insecure-requests`. Off on a plain-http
 * development server, where they would send a browser to an https:// that does not answer
 * (review 18c).
 */
export function helmetHeaders(https = true): [name: string, value: string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: number | string | readonly string[]) => void headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let outcome: unknown = 'pending';
  const options = https
    ? {}
    : { strictTransportSecurity: false, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => (outcome = error));
  // Synchronous and error-free with the defaults; anything else would make a constant list wrong.
  if (outcome !== undefined) throw new Error('helmet did not set its headers synchronously');
  return headers;
}

/** What an answer computed for a signed-in caller (a guard set `req.user`) says of caching. */
export const PERSONAL_CACHE_CONTROL = 'private, no-store';

export interface RequestContextOptions {
  /** The request id, the request's log binding and the access line (`createAccessLog`). */
  accessLog: AccessLog;
  /** Where each request's duration is observed, by method, route template and status. */
  metrics: AppMetrics;
  /** Whether to send the request's DynamoDB work as `Server-Timing` (`SERVER_TIMING`). */
  serverTiming: boolean;
  /** Whether to send HSTS and `upgrade-insecure-requests` (`HTTPS_HEADERS`; default true). */
  httpsHeaders?: boolean;
}

/**
 * The first middleware of the app, all the per-request bookkeeping in one layer (it was four:
 * the access log, the metrics, Server-Timing and helmet, each with its own closures and `finish`
 * listener, about 0.1 ms of CPU a request together):
 * - the request id (`X-Request-Id`), the request's log lines bound to it, and the access line
 *   (`createAccessLog`), written when the response finishes or the connection closes, also for
 *   requests rejected before routing;
 * - `http_request_duration_seconds` observed when the response finishes, or under 499 when the client
 *   hangs up first (the access line then says 499 and `aborted: true`, not Node's default 200);
 * - helmet's security headers, computed once (`helmetHeaders`), HSTS only where `HTTPS_HEADERS` says;
 * - the request's DynamoDB usage record (AsyncLocalStorage, and reachable from the request for
 *   the access line) and, when enabled, `Server-Timing: db;dur=..;desc="dynamodb calls=.. rcu=..
 *   wcu=.."` added just before the headers leave, so success and error answers alike carry it;
 * - `Cache-Control: private, no-store` on every answer to a signed-in caller (whoever set
 *   `req.user`: the app's guard or the Conduit routes' own) and on every answer to a write that
 *   sets none itself (the token answers of sign-in, registration, refresh), set just before the
 *   headers leave.
 */
export function requestContext(options: RequestContextOptions): RequestHandler {
  const { accessLog, metrics, serverTiming, httpsHeaders = true } = options;
  const headers = helmetHeaders(httpsHeaders);
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    // The request's AsyncLocalStorage store, which Nest's `Logger` also finds the request's logger by.
    const usage = new DynamoUsage();
    const writeLine = accessLog(req, res, usage);
    for (const [name, value] of headers) res.setHeader(name, value);
    attachUsage(req, usage);
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    res.writeHead = ((...args: unknown[]) => {
      if (!res.headersSent) {
        if (serverTiming) res.appendHeader('Server-Timing', usage.toServerTiming());
        // An answer computed for a signed-in caller is theirs alone (review 17a L4): no shared cache
        // or CDN may keep it, whatever the route or its status.
        if ((req as { user?: unknown }).user !== undefined) res.setHeader('Cache-Control', PERSONAL_CACHE_CONTROL);
        // Nor an answer to a write that says nothing itself: sign-in, registration and refresh are
        // public routes whose answers carry tokens (RFC 6749 5.1; review 22a L2).
        else if (!res.hasHeader('Cache-Control') && req.method !== 'GET' && req.method !== 'HEAD')
          res.setHeader('Cache-Control', PERSONAL_CACHE_CONTROL);
      }
      return writeHead(...args);
    }) as typeof res.writeHead;
    // One line per request: on `finish`, or on `close` (the client hung up first), or on `error`.
    let written = false;
    const end = (error?: Error, aborted = false) => {
      if (written) return;
      written = true;
      writeLine(error, aborted);
    };
    const observe = (status: number) =>
      metrics.observeHttp(req.method, routeOf(req), status, (performance.now() - started) / 1000);
    res.on('finish', () => {
      observe(res.statusCode);
      end();
    });
    // A hang-up before the answer: no status was sent (`res.statusCode` is still Node's 200), so the
    // line and the metrics say 499 with `aborted: true` (review 22a L8).
    res.on('close', () => {
      if (written || res.writableFinished) return end();
      observe(CLIENT_CLOSED_REQUEST);
      end(undefined, true);
    });
    res.on('error', end);
    runWithUsage(usage, next);
  };
}
