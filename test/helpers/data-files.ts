import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { nanoid } from 'nanoid';
import { exportTable } from '../../src/admin-tools/export/table-export.js';
import { importTable, type ImportOptions, type ImportSummary } from '../../src/admin-tools/import/table-import.js';
import { loadConfig } from '../../src/config/app-config.js';
import { createDynamoClient } from '../../src/dynamo/dynamo-client.factory.js';
import { ensureTable } from '../../src/dynamo/table.setup.js';
import { keepTablesInFileDatabase } from './databases.js';

/** The seed fixture (see `npm run fixture:seed-export`). */
export const SEED_FIXTURE = join(process.cwd(), 'test/fixtures/seed-export.ndjson');

/** A scratch directory for export files and checkpoints. */
export const scratchDir = (): string => mkdtempSync(join(tmpdir(), 'data-lifecycle-'));

/** A quiet stream for progress output. */
export const silent = { write: () => true };

/**
 * Imports the seed fixture, with the import's checkpoint in a scratch directory of its own:
 * beside the fixture (the default) it would be shared by suites running at once in other Jest
 * workers, and one left by a killed run would refuse every later import.
 */
export const importFixture = (options: Omit<ImportOptions, 'file'>): Promise<ImportSummary> =>
  importTable({
    file: SEED_FIXTURE,
    progress: silent,
    checkpointFile: join(scratchDir(), 'import.checkpoint.json'),
    ...options,
  });

/** A low-level client on the run's DynamoDB Local and a way to make tables that `drop()` removes. */
export function testDatabase() {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TEST_DYNAMODB_ENDPOINT is not set: run the tests through `npm test`');
  // Its client reaches every table of the file (the apps' too): they stay in the file's database.
  keepTablesInFileDatabase();
  // The same request budget as the test apps (createTestApp): the shared engine is slow under load.
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: process.env.AWS_REGION, // the test file's database (test/engine-database.mjs)
    DYNAMODB_REQUEST_TIMEOUT_MS: '30000',
  });
  const client: DynamoDBClient = createDynamoClient(config.dynamo);
  const tables: string[] = [];
  return {
    endpoint,
    client,
    async newTable(): Promise<string> {
      const name = `test-${nanoid(10)}`;
      await ensureTable({ client, tableName: name });
      tables.push(name);
      return name;
    },
    async drop(): Promise<void> {
      for (const TableName of tables) await client.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
      client.destroy();
    },
  };
}

/** The lines of an export file (gunzipped when `.gz`), sorted: two equal tables give equal lists. */
export function sortedLines(file: string): string[] {
  const raw = readFileSync(file);
  const text = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return text.split('\n').filter(Boolean).sort();
}

/** Exports a table and returns its sorted lines. */
export async function exportedLines(client: DynamoDBClient, tableName: string, dir: string): Promise<string[]> {
  const out = join(dir, `${tableName}-${nanoid(4)}.ndjson`);
  await exportTable({ client, tableName, out, segments: 2, progress: silent });
  return sortedLines(out);
}
