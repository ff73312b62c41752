import Module from 'node:module';
import type { EmbeddedDynamo } from '../src/dynamo/embedded-dynamo.js';

declare global {
  var __DYNAMO__: EmbeddedDynamo | undefined;
}

/**
 * Jest runs global setup as CommonJS (ts-jest through a require hook), where the `.js`
 * specifiers that ESM TypeScript needs do not resolve to their `.ts` sources; map them here.
 */
function resolveTsSources(): void {
  const loader = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    try {
      return original.call(this, request, ...rest);
    } catch (error) {
      if (request.startsWith('.') && request.endsWith('.js'))
        return original.call(this, `${request.slice(0, -3)}.ts`, ...rest);
      throw error;
    }
  };
}

/** One in-memory DynamoDB Local for the whole run; each suite makes its own table in it. */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DYNAMODB_ENDPOINT) return; // an engine the caller already runs
  resolveTsSources();
  const { startEmbeddedDynamo } = await import('../src/dynamo/embedded-dynamo.js');
  const engine = await startEmbeddedDynamo();
  globalThis.__DYNAMO__ = engine;
  process.env.TEST_DYNAMODB_ENDPOINT = engine.endpoint;
}
