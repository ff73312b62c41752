import type { NextFunction, Request, Response } from 'express';
import { attachUsage, DynamoUsage, runWithUsage } from '../dynamo/request-accounting.js';

/**
 * Opens a DynamoDB usage record for the request (AsyncLocalStorage, and reachable from the
 * request for the access log) and, when enabled,
 * writes it as `Server-Timing: db;dur=..;desc="dynamodb calls=.. rcu=.. wcu=.."` just before
 * the headers leave, so it is there on success and error responses alike.
 */
export function serverTiming(enabled: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const usage = new DynamoUsage();
    attachUsage(req, usage);
    if (enabled) {
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
      res.writeHead = ((...args: unknown[]) => {
        if (!res.headersSent) res.appendHeader('Server-Timing', usage.toServerTiming());
        return writeHead(...args);
      }) as typeof res.writeHead;
    }
    runWithUsage(usage, () => next());
  };
}
