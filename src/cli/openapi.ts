import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createApp } from '../app.setup.js';
import { loadConfig } from '../config/app-config.js';
import { buildOpenApiDocument } from '../openapi/openapi-document.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'npm run openapi [-- --out <file>]';

/**
 * `npm run openapi`: writes the OpenAPI document (the one `/docs-json` serves) to a file without
 * starting a server or a database. The app is created but never initialised, so no start-up hook
 * runs and nothing is sent to the endpoint below; the document only needs the routes and DTOs.
 * Run from `dist/` (after `nest build`), so the Swagger CLI plugin's schemas are in it.
 */
async function main(): Promise<void> {
  const { values } = parseCommandLine(process.argv.slice(2), { out: { type: 'string' } }, USAGE);
  const out = resolve(typeof values.out === 'string' ? values.out : 'openapi.json');
  const config = loadConfig({
    NODE_ENV: 'test',
    // Never contacted (the app is not initialised); present because the configuration requires one.
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    JWT_SECRET: 'openapi-document-only-secret-0123456789',
    API_DOCS: 'true',
  });
  const app = await createApp(config, { logLevel: 'silent', initialise: false });
  try {
    const document = buildOpenApiDocument(app);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`OpenAPI document written to ${out}`);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
});
