import { timingSafeEqual, createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Guards whatever serves `/metrics`: without a configured `METRICS_TOKEN` the endpoint does not
 * exist (404, as for any unknown route); with one, only `Authorization: Bearer <METRICS_TOKEN>`
 * gets through (401 otherwise, compared in constant time). The token is not a user credential:
 * once checked, the header is removed so the JWT guard sees an anonymous scrape.
 */
export function metricsAccess(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (expected === undefined) {
      next(new DomainError(404, ErrorCode.RouteNotFound, `Cannot ${req.method} ${req.originalUrl}`));
      return;
    }
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      next(
        new DomainError(
          401,
          ErrorCode.InvalidMetricsToken,
          'Send the metrics token as `Authorization: Bearer <token>`.',
        ),
      );
      return;
    }
    delete req.headers.authorization;
    next();
  };
}
