import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { currentUsage } from '../dynamo/request-accounting.js';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** What a request's log lines are bound to: its id, and its logger once something logs. */
interface RequestBinding {
  parent: Logger;
  requestId: string;
  logger?: Logger;
}

/**
 * The request bound to each request's DynamoDB usage record. That record is the store of the
 * request's AsyncLocalStorage (`dynamo/request-accounting.ts`), so Nest's `Logger` finds the
 * request's logger through it: one AsyncLocalStorage per request instead of two (nestjs-pino kept
 * a second one, whose init hook ran for every promise of the request on Node 20 and 22).
 */
const bindings = new WeakMap<object, RequestBinding>();

/** Binds the log lines written while `context` is the current usage record to `requestId`. */
export function bindRequestLogs(context: object, parent: Logger, requestId: string): void {
  bindings.set(context, { parent, requestId });
}

/**
 * The logger outside any request: the first app's, as pino-http (nestjs-pino's root) wraps it.
 * Process-wide, as nestjs-pino's was: Nest's static `Logger` is too (the last `useLogger` wins).
 */
let processRoot: Logger | undefined;

/** The logger of the current request (its id bound, made on first use), else the process's root. */
function currentLogger(): Logger {
  const usage = currentUsage();
  const binding = usage && bindings.get(usage);
  if (!binding) return processRoot!;
  return (binding.logger ??= binding.parent.child({ requestId: binding.requestId }));
}

/**
 * Nest's `LoggerService` over pino, writing the lines nestjs-pino's `Logger` wrote (same keys:
 * `context` last argument, `err` for an Error; its handling of Nest's exception handlers' `(message,
 * stack)` calls), the request id bound inside a request. Replaces nestjs-pino's `LoggerModule`,
 * whose middleware (a Nest middleware on every route, with its own AsyncLocalStorage and a child
 * logger made per request whether or not anything logs) cost about 0.1 ms of CPU a request.
 */
export class AppLogger implements LoggerService {
  constructor(root: Logger) {
    processRoot ??= pinoHttp({ logger: root }).logger as unknown as Logger;
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.call('trace', message, optionalParams);
  }
  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.call('debug', message, optionalParams);
  }
  log(message: unknown, ...optionalParams: unknown[]): void {
    this.call('info', message, optionalParams);
  }
  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.call('warn', message, optionalParams);
  }
  error(message: unknown, ...optionalParams: unknown[]): void {
    this.call('error', message, optionalParams);
  }
  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.call('fatal', message, optionalParams);
  }

  private call(level: Level, message: unknown, optionalParams: unknown[]): void {
    const logger = currentLogger();
    // Nest passes the context (the logger's name) as the last argument.
    const fields: Record<string, unknown> = {};
    let params: unknown[] = [];
    if (optionalParams.length !== 0) {
      fields.context = optionalParams[optionalParams.length - 1];
      params = optionalParams.slice(0, -1);
      if (level === 'info' && isStartupDetail(fields.context)) {
        if (fields.context === 'RoutesResolver') return;
        level = 'trace';
      }
    }
    const write = (...args: unknown[]) => logger[level](...(args as [object, string]));
    if (typeof message === 'object') {
      if (message instanceof Error) fields.err = message;
      else Object.assign(fields, message);
      write(fields, ...params);
    } else if (isExceptionHandlerCall(level, message, params)) {
      // Nest's exception handlers call `error(message, stack)`: one error with that stack.
      const err = new Error(message as string);
      err.stack = params[0] as string;
      fields.err = err;
      write(fields);
    } else {
      write(fields, message, ...params);
    }
  }
}

/**
 * Nest's start-up lines a line per module and per route (about 130 of a start-up's 150; review
 * 18c), written at `trace` (`LOG_LEVEL=verbose`) instead of `info`: `createApp` writes one line
 * that counts the routes. `RoutesResolver`'s line per controller is dropped altogether: it shows
 * the global prefix on controllers excluded from it (`HealthController {/api/v1/health}`,
 * `ConduitUsersController {/api/v1/api}`); `RouterExplorer`'s lines under it have each route's
 * true path.
 */
const STARTUP_DETAIL = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Whether an `info` line of this context is one of Nest's start-up details, written at `trace`:
 * by the server (`AppLogger`) and by the commands and the worker (`nestLoggerFor`) alike.
 */
export const isStartupDetail = (context: unknown): boolean =>
  typeof context === 'string' && STARTUP_DETAIL.has(context);

const isExceptionHandlerCall = (level: Level, message: unknown, params: unknown[]): boolean =>
  level === 'error' &&
  typeof message === 'string' &&
  params.length === 1 &&
  typeof params[0] === 'string' &&
  /\n\s*at /.test(params[0]);
