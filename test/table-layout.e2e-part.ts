import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { nanoid } from 'nanoid';
import { StartupError } from '../src/common/startup-error.js';
import { loadConfig } from '../src/config/app-config.js';
import { createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { tableDefinition } from '../src/dynamo/table.definition.js';
import { ensureTable, type TableCreation } from '../src/dynamo/table.setup.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import { assertMigrationsApplied, readMigrationState } from '../src/migrations/state.js';
import { TABLE_LAYOUT_VERSION } from '../src/dynamo/table.definition.js';

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

  /**
   * The client, but `fail` decides per command: it may run the command on the engine and still throw
   * (an answer lost on the way back), or throw before sending it.
   */
  const flaky = (fail: (name: string) => 'after' | 'before' | undefined) =>
    ({
      send: async (command: { constructor: { name: string } }) => {
        const how = fail(command.constructor.name);
        if (how === 'before') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        const answer = await client.send(command as never);
        if (how === 'after') throw Object.assign(new Error('Table already exists'), { name: 'ResourceInUseException' });
        return answer;
      },
    }) as unknown as typeof client;

  it('gives a new table its layout baseline when the CreateTable that made it answered ResourceInUse (a lost answer, retried)', async () => {
    const name = `test-${nanoid(10)}`;
    tables.push(name);
    // The engine creates the table; the caller is told what the SDK's retry of a timed-out attempt is told.
    let creates = 0;
    const lostAnswer = flaky((command) => (command === 'CreateTableCommand' && creates++ === 0 ? 'after' : undefined));
    await expect(ensureTable(lostAnswer, name)).resolves.toBe(true);
    expect((await readMigrationState(client, name)).baseline).toBe(TABLE_LAYOUT_VERSION);
    await expect(assertMigrationsApplied(client, name, MIGRATIONS, false)).resolves.toEqual([]);
  });

  it('gives it the baseline when the attempt that created it failed later and start-up tried again', async () => {
    const name = `test-${nanoid(10)}`;
    tables.push(name);
    // The first attempt creates the table, then its write of the baseline times out.
    const creation: TableCreation = {};
    let baselinePuts = 0;
    const failsBeforeBaseline = flaky((command) =>
      command === 'PutItemCommand' && baselinePuts++ === 0 ? 'before' : undefined,
    );
    await expect(ensureTable(failsBeforeBaseline, name, creation)).rejects.toThrow(/socket hang up/);
    expect((await readMigrationState(client, name)).baseline).toBe(0);
    // The retry finds the table there; the record of the first attempt says it is new.
    await expect(ensureTable(client, name, creation)).resolves.toBe(true);
    expect((await readMigrationState(client, name)).baseline).toBe(TABLE_LAYOUT_VERSION);
    await expect(assertMigrationsApplied(client, name, MIGRATIONS, false)).resolves.toEqual([]);
  });
});
