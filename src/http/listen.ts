import type { INestApplication } from '@nestjs/common';
import { StartupError } from '../common/startup-error.js';

/**
 * Listens on `host:port`; a port that is taken or not allowed becomes one sentence a person can
 * act on (a `StartupError`) instead of Node's `EADDRINUSE` stack trace.
 */
export async function listen(app: INestApplication, port: number, host: string): Promise<void> {
  try {
    await app.listen(port, host);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new StartupError(
        `Port ${port} on ${host} is already in use by another process; stop that process or set PORT to a free port.`,
      );
    }
    if (code === 'EACCES') {
      throw new StartupError(
        `Port ${port} on ${host} needs privileges this process does not have; set PORT above 1023.`,
      );
    }
    if (code === 'EADDRNOTAVAIL') {
      throw new StartupError(`HOST ${host} is not an address of this machine; set HOST to one of its addresses.`);
    }
    throw error;
  }
}

/**
 * The line `npm start` ends its start-up with: where the API is, and Swagger UI and the OpenAPI
 * JSON only when they are served (`API_DOCS`, off by default in production).
 */
export function listeningLine(base: string, docs: boolean): string {
  return docs
    ? `API on ${base}/api/v1, Swagger UI on ${base}/docs, OpenAPI JSON on ${base}/docs-json`
    : `API on ${base}/api/v1 (Swagger UI and OpenAPI JSON off: API_DOCS=true serves them on /docs and /docs-json)`;
}
