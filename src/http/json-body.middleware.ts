import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { bodyShape } from './body-shape.middleware.js';
import { jsonOnly } from './json-only.middleware.js';

/** The media types read as JSON bodies. */
export const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Whether the request announces a body: a `Transfer-Encoding` or a `Content-Length` header, the
 * headers body-parser's own test (type-is `hasBody`) reads. Without either, all three steps below
 * would only call `next()`: a GET, a HEAD or a DELETE then skips them.
 */
const announcesBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;

/**
 * The body steps as one middleware, in their order: `jsonOnly` (415 for a body that is not JSON),
 * the JSON parser (with the size limit) and `bodyShape` (depth and prototype keys). One router
 * layer instead of three, and nothing at all on a request without a body. Each step's error goes
 * on to the error middleware exactly as when they were separate layers.
 */
export function jsonBody(limit: string | number): RequestHandler {
  const parse = json({ limit, type: JSON_TYPES });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!announcesBody(req)) {
      next();
      return;
    }
    jsonOnly(req, res, ((error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      void parse(req, res, ((parseError?: unknown) => {
        if (parseError !== undefined) next(parseError);
        else bodyShape(req, res, next);
      }) as NextFunction);
    }) as NextFunction);
  };
}
