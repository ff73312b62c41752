import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { metricsAccess } from '../http/metrics-access.middleware.js';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import type { StreamWorkerStatus } from './stream-poller.js';

export interface WorkerMetricsOptions {
  port: number;
  host: string;
  /** `METRICS_TOKEN`: `/metrics` wants it as a bearer token, and is 404 without one (as in the API). */
  metricsToken: string | undefined;
  metrics: AppMetrics;
  status: () => StreamWorkerStatus;
}

/**
 * The small HTTP server of `npm run worker` (which has no API): `/metrics` with the worker's
 * figures (lag per shard, records by outcome, dead letters, stall) behind `METRICS_TOKEN`,
 * `/health/live` for the orchestrator, and `/health/worker` (503 when stalled) for alerting.
 * Answers are plain: problem+json without the API's catalogue extras.
 */
export async function startWorkerMetricsServer(options: WorkerMetricsOptions): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/worker', (_req, res) => {
    const status = options.status();
    res.status(status.state === 'stalled' ? 503 : 200).json(status);
  });
  app.get(
    '/metrics',
    metricsAccess(options.metricsToken),
    (_req: Request, res: Response, next: NextFunction) =>
      void options.metrics
        .render()
        .then((body) => res.status(200).type(options.metrics.contentType).send(body))
        .catch(next),
  );
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new DomainError(404, ErrorCode.RouteNotFound, `Cannot ${req.method} ${req.path}`));
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = error instanceof DomainError ? error.status : 500;
    const code = error instanceof DomainError ? error.code : ErrorCode.InternalError;
    res
      .status(status)
      .type('application/problem+json')
      .send(JSON.stringify({ status, code, title: code, detail: error instanceof DomainError ? error.message : '' }));
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, options.host, () => resolve(server));
    server.once('error', reject);
  });
}
