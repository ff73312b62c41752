import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type DestinationStream, type Level, type LevelWithSilent, type Logger, pino } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { usageOf } from '../dynamo/request-accounting.js';
import { bindRequestLogs, isStartupDetail } from './app-logger.js';
import { routeOf } from '../metrics/http-metrics.middleware.js';
import { newRequestId } from '../common/ids.js';

/**
 * Paths pino replaces with `[Redacted]` in every log line: credentials in headers, and any
 * field that holds a secret, at the top level or one level down (`{ body: { password } }`).
 * The application never logs a body, a token or a link carrying one; this is the net under it.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-metrics-token"]',
  // Replaying a key replays its request's answer (DESIGN.md: idempotency keys are never logged).
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  ...[
    'password',
    'currentPassword',
    'newPassword',
    'passwordHash',
    'token',
    'accessToken',
    'refreshToken',
    'link',
  ].flatMap((key) => [key, `*.${key}`]),
];

/** `X-Request-Id` values we adopt from a client: short, printable, no separators a log parser could trip on. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Query parameters whose values never reach a log line. */
// Cursors too (DESIGN.md: never logged): one names where a listing stands, for whoever holds it.
const SECRET_QUERY = /([?&](?:token|access_token|refresh_token|code|password|cursor)=)[^&#]*/gi;

/** A URL as logged: secret query values replaced. */
export const scrubUrl = (url: string): string => url.replace(SECRET_QUERY, '$1[Redacted]');

const PINO_LEVELS: Record<AppConfig['logLevel'], Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export interface LoggerOptions {
  /** Overrides the configured level (tests pass `error` or `silent`). */
  level?: LevelWithSilent;
  /** Where lines go instead of stdout (tests capture them). */
  stream?: DestinationStream;
  /** Write to stderr instead of stdout, synchronously: a command's, whose stdout is its report. */
  stderr?: boolean;
}

/** Whether pino-pretty can be loaded (a dev dependency: absent from the production image). */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * The app's root pino logger: JSON lines on stdout, except in development on an interactive
 * terminal, where pino-pretty colours them for a person. Secrets are redacted by configuration.
 */
export function createRootLogger(config: AppConfig, options: LoggerOptions = {}): Logger {
  const level = options.level ?? PINO_LEVELS[config.logLevel];
  const base = {
    level,
    base: { service: 'publishing-api' },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.stream) return pino(base, options.stream);
  const fd = options.stderr ? 2 : 1;
  if (
    config.nodeEnv === 'development' &&
    (options.stderr ? process.stderr : process.stdout).isTTY &&
    prettyAvailable()
  ) {
    const pretty = { translateTime: 'SYS:HH:MM:ss.l', destination: fd, sync: options.stderr === true };
    return pino({ ...base, transport: { target: 'pino-pretty', options: pretty } });
  }
  return options.stderr ? pino(base, pino.destination({ dest: fd, sync: true })) : pino(base);
}

/** The request id: the client's `X-Request-Id` when well-formed, else a new UUID; echoed on the response. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const offered = req.headers['x-request-id'];
  const id = typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : newRequestId();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** What the access line says about the request's DynamoDB work and its caller. */
function accessFields(req: Request) {
  const usage = usageOf(req);
  const user = (req as Request & { user?: { userId?: string } }).user;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    route: routeOf(req),
    ...(user?.userId ? { userId: user.userId } : {}),
    db: usage
      ? {
          calls: usage.calls,
          ms: round(usage.durationMs),
          rcu: round(usage.readCapacity),
          wcu: round(usage.writeCapacity),
        }
      : { calls: 0, ms: 0, rcu: 0, wcu: 0 },
  };
}

/**
 * The access log and the request id, opened at the start of every request by the request
 * pipeline (`http/request-context.middleware.ts`, mounted first, so every request gets an id, also
 * on errors raised by body parsing): gives the request its id and binds the lines Nest's `Logger`
 * writes inside the request (`context`: the request's AsyncLocalStorage store) to that id. The
 * function it returns writes the request's one `request completed` line with method, URL, route
 * template, status, duration, DynamoDB calls and capacity, the user id when signed in, and the
 * request id. 5xx lines (and a request ended by an error) are errors, the rest info.
 *
 * It writes the lines pino-http wrote here before (same keys, same order), but does no logging
 * work on a request whose line is off: pino-http bound the whole serialised request (headers
 * included, redacted, as JSON) to a child logger on every request, whatever the level; not even
 * a child logger is made unless something logs inside the request.
 */
export type AccessLog = (req: Request, res: Response, context: object) => (error?: Error, aborted?: boolean) => void;

const remoteAddresses = new WeakMap<Request, string>();

/** The status logged and counted for a request whose client hung up before the answer (nginx's). */
export const CLIENT_CLOSED_REQUEST = 499;

export function createAccessLog(logger: Logger): AccessLog {
  const access = logger.child(
    {},
    {
      serializers: {
        req: (req: Request) => ({
          method: req.method,
          url: scrubUrl(req.originalUrl || req.url),
          remoteAddress: remoteAddresses.get(req) ?? req.socket?.remoteAddress,
          headers: req.headers,
        }),
        res: (res: Response) => ({ statusCode: res.statusCode }),
      },
    },
  );
  return (req, res, context) => {
    // pino-http's typing of Express's request (`id`).
    const requestId = (req.id ??= requestIdOf(req, res)) as string;
    bindRequestLogs(context, access, requestId);
    // A duration, not a time of day: the monotonic clock (whole milliseconds, as pino-http wrote them).
    const started = performance.now();
    // The client's address while the socket is open: a client that hangs up before the answer
    // leaves a destroyed socket without one by the time the line is written (review 5, #4). Read
    // only when the line will be written at `info`, so a request whose line is off pays nothing.
    if (access.isLevelEnabled('info')) {
      const address = req.socket?.remoteAddress;
      if (address) remoteAddresses.set(req, address);
    }
    return (error?: Error, aborted = false) => {
      // A client that hung up before the answer (review 22a L8): no status was sent, and
      // `res.statusCode` is still Node's default 200, so the line says 499 (nginx's "client closed
      // request") and `aborted: true` rather than pretend an answer.
      const statusCode = aborted ? CLIENT_CLOSED_REQUEST : res.statusCode;
      const failure =
        error ??
        (res as Response & { err?: Error }).err ??
        (statusCode >= 500 ? new Error(`failed with status code ${statusCode}`) : undefined);
      const level = failure ? 'error' : 'info';
      if (!access.isLevelEnabled(level)) return;
      // The request id first, where a child logger's binding put it.
      const line = {
        requestId,
        req,
        res: aborted ? { statusCode } : res,
        ...(aborted ? { aborted } : {}),
        ...(failure ? { err: failure } : {}),
        durationMs: Math.round(performance.now() - started),
        ...accessFields(req),
      };
      access[level](line, `${req.method} ${routeOf(req)} ${statusCode}`);
    };
  };
}

/**
 * Nest's `LoggerService` over a pino logger, for what is logged before the app exists (start-up,
 * the embedded engine) and for the commands and the stream worker: the same JSON lines as the
 * app's. Nest's line per module (`InstanceLoader`) is at `trace` here too, as `AppLogger` writes it.
 * The server then installs `AppLogger`.
 */
export function nestLoggerFor(logger: Logger): LoggerService {
  const line =
    (written: Level) =>
    (message: unknown, ...rest: unknown[]) => {
      const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
      const level: Level = written === 'info' && isStartupDetail(context) ? 'trace' : written;
      if (message instanceof Error) logger[level]({ context, err: message }, message.message);
      // An object of fields with its message after it (`Logger.log({ ... }, 'message')`, as the
      // audit log writes): the fields on the line, as `AppLogger` writes them.
      else if (typeof message === 'object' && message !== null && rest.length > 1 && typeof rest[0] === 'string')
        logger[level]({ context, ...message }, rest[0]);
      else logger[level]({ context }, typeof message === 'string' ? message : JSON.stringify(message));
    };
  return { log: line('info'), error: line('error'), warn: line('warn'), debug: line('debug'), verbose: line('trace') };
}
