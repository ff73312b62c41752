import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A request that carries a body must say it is JSON: otherwise the JSON parser would skip it
 * and the handler would see an empty object. Answers 415 `unsupported_media_type`.
 */
export function jsonOnly(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (BODY_METHODS.has(req.method) && hasBody && !req.is(['application/json', 'application/*+json'])) {
    next(new DomainError(415, ErrorCode.UnsupportedMediaType, 'Send the body as application/json.'));
    return;
  }
  next();
}
