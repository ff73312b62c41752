import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { exportTable } from '../admin-tools/export/table-export.js';
import { loadConfig } from '../config/app-config.js';
import { DYNAMODB_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { failCommand, runWithAppContext } from './app-context.js';
import { seedDemoData } from './seed-data.js';

/** Where the tests read the fixture from. */
export const SEED_FIXTURE = 'test/fixtures/seed-export.ndjson';

/**
 * `npm run fixture:seed-export [-- FILE]`: regenerates the test fixture, an export of the demo seed
 * data (`db:seed`'s data set) in the layout the code writes. It starts a throw-away DynamoDB Local
 * of its own (never the configured one: `.env` is not read), seeds it through the services, exports
 * it with `db:export`'s code, and writes the lines sorted by key so that the file diffs well. Ids,
 * timestamps and password hashes are new on every run (hashes at BCRYPT_COST 4, so that tests sign
 * in fast); the shape, the counts and the relations are the same.
 */
async function main(out: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'seed-fixture-'));
  const raw = join(dataDir, 'export.ndjson');
  const config = loadConfig({
    NODE_ENV: 'development',
    DYNAMODB_EMBEDDED_DATA_DIR: dataDir,
    DYNAMODB_TABLE_NAME: 'seed-fixture',
    BCRYPT_COST: '4',
    LOG_LEVEL: 'error',
  });
  try {
    await runWithAppContext(
      async (context) => {
        await seedDemoData(context);
        await exportTable({
          client: context.get<DynamoDBClient>(DYNAMODB_CLIENT),
          tableName: context.get<string>(DYNAMODB_TABLE_NAME),
          out: raw,
          segments: 1,
          progress: { write: () => true },
        });
      },
      { config },
    );
    const key = (line: string) => {
      const { Item } = JSON.parse(line) as { Item: { PK: { S: string }; SK: { S: string } } };
      return `${Item.PK.S}\u0000${Item.SK.S}`;
    };
    const lines = (await readFile(raw, 'utf8')).split('\n').filter(Boolean);
    lines.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    await writeFile(out, `${lines.join('\n')}\n`);
    console.log(`Wrote ${lines.length} items to ${out}.`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main(process.argv[2] ?? SEED_FIXTURE).catch(failCommand);
