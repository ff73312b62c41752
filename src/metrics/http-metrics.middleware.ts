import type { Request } from 'express';

/**
 * The route template of a handled request (`/api/v1/posts/:id`), or `unmatched` for a request
 * no route took (a 404, a body rejected before routing): metric labels and the access log use
 * it, so that ids in paths never multiply label values.
 */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  // Nest answers unknown paths from a catch-all route (`/api/v1*path`): that is no route either.
  if (typeof path !== 'string' || path.includes('*')) return 'unmatched';
  return `${req.baseUrl ?? ''}${path}`;
}
