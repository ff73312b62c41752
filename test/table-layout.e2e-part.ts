import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { nanoid } from 'nanoid';
import { StartupError } from '../src/common/startup-error.js';
import { loadConfig } from '../src/config/app-config.js';
import { createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { tableDefinition } from '../src/dynamo/table.definition.js';
import { ensureTable } from '../src/dynamo/table.setup.js';

/**
 * `ensureTable` (start-up, `db:create-table`) must not silently keep an index whose projection
 * or keys differ from the definition: DynamoDB cannot change them in place.
 */
describe('table layout check at start-up (e2e)', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: process.env.TEST_DYNAMODB_ENDPOINT ?? '',
    AWS_REGION: process.env.AWS_REGION,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    DYNAMODB_REQUEST_TIMEOUT_MS: '30000',
  });
  const client = createDynamoClient(config.dynamo);
  const tables: string[] = [];
  afterAll(async () => {
    for (const TableName of tables) await client.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
    client.destroy();
  });

  it('accepts a table made from the definition, and refuses one whose index projects something else', async () => {
    const good = `test-${nanoid(10)}`;
    tables.push(good);
    await expect(ensureTable(client, good)).resolves.toBe(true);
    await expect(ensureTable(client, good)).resolves.toBe(false);

    const old = `test-${nanoid(10)}`;
    tables.push(old);
    const definition = tableDefinition(old);
    await client.send(
      new CreateTableCommand({
        ...definition,
        GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes!.map((index) =>
          index.IndexName === 'GSI2' ? { ...index, Projection: { ProjectionType: 'KEYS_ONLY' } } : index,
        ),
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: old });
    const refusal = ensureTable(client, old);
    await expect(refusal).rejects.toBeInstanceOf(StartupError);
    await expect(refusal).rejects.toThrow(/index GSI2 projects KEYS_ONLY, not ALL.*cannot change.*db:migrate/);
  });
});
