import type { DynamoDBClient, TableDescription } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@nestjs/common';
import { StartupError } from '../common/startup-error.js';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from '../migrations/index.js';
import { assertMigrationsApplied, MigrationsPendingError } from '../migrations/state.js';
import { createOrCheckTable } from './database-bootstrap.js';
import { Keys } from './keys.js';
import { TABLE_LAYOUT_VERSION, tableDefinition } from './table.definition.js';
import { addMissingIndexes, ensureTable } from './table.setup.js';

const indexes = tableDefinition('t').GlobalSecondaryIndexes ?? [];
const last = String(indexes.at(-1)?.IndexName);
/** A table that has every index of the definition but the last one. */
const olderTable: TableDescription = {
  GlobalSecondaryIndexes: indexes.slice(0, -1).map((index) => ({ IndexName: index.IndexName })),
};

/** A client double: UpdateTable succeeds; DescribeTable reports the new index's status from `statuses`, the last one after they run out. */
function fakeClient(statuses: string[]) {
  const sent: string[] = [];
  let describes = 0;
  const client = {
    send: (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      if (command.constructor.name !== 'DescribeTableCommand') return Promise.resolve({});
      const status = statuses[Math.min(describes++, statuses.length - 1)];
      return Promise.resolve({ Table: { GlobalSecondaryIndexes: [{ IndexName: last, IndexStatus: status }] } });
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

describe('addMissingIndexes', () => {
  const noWait = () => Promise.resolve();

  it('creates the missing index and waits until it is ACTIVE', async () => {
    const { client, sent } = fakeClient(['CREATING', 'CREATING', 'ACTIVE']);
    await addMissingIndexes(client, 't', olderTable, { maxWaitMs: 10_000, pollMs: 1000, wait: noWait });
    expect(sent).toEqual([
      'UpdateTableCommand',
      'DescribeTableCommand',
      'DescribeTableCommand',
      'DescribeTableCommand',
    ]);
  });

  it('is a StartupError naming the index when it is not ACTIVE within the wait, never a silent start', async () => {
    const { client, sent } = fakeClient(['CREATING']);
    const started = addMissingIndexes(client, 't', olderTable, { maxWaitMs: 3000, pollMs: 1000, wait: noWait });
    await expect(started).rejects.toThrow(StartupError);
    await expect(started).rejects.toThrow(new RegExp(`${last} of t is still CREATING after 3 s`));
    expect(sent.filter((name) => name === 'DescribeTableCommand')).toHaveLength(4);
  });
});

type Item = Record<string, { S?: string; N?: string }>;
interface FakeTable {
  items: Item[];
  indexes: TableDescription['GlobalSecondaryIndexes'];
  RestoreSummary?: TableDescription['RestoreSummary'];
}

/**
 * A DynamoDB double holding one table (or none), for `ensureTable`'s decisions. `racingCreate`
 * stands for whoever makes the table when our CreateTable arrives: its answer to us is
 * ResourceInUse, as the SDK's retry of a create whose answer was lost is told, or a second
 * process's create. `failOnce` names commands whose first call fails as a timeout, before it runs.
 * `othersCreate` stands for another process that created the table just before us: its first
 * `creatingDescribes` DescribeTable answers say CREATING, and it writes its baseline when we send
 * our `baselineAtGet`-th GetItem (never, when undefined).
 */
function fakeEngine({
  racingCreate,
  failOnce = [],
  othersCreate,
}: {
  racingCreate?: (table: FakeTable) => void;
  failOnce?: string[];
  othersCreate?: { creatingDescribes: number; baselineAtGet?: number };
} = {}) {
  const definition = tableDefinition('t');
  const newTable = (): FakeTable => ({
    items: [],
    indexes: definition.GlobalSecondaryIndexes!.map((index) => ({ ...index })),
  });
  const sent: string[] = [];
  let table: FakeTable | undefined = othersCreate && newTable();
  let creatingDescribes = othersCreate?.creatingDescribes ?? 0;
  let gets = 0;
  const baselineItem: Item = {
    PK: { S: Keys.migrationBaseline.PK },
    SK: { S: Keys.migrationBaseline.SK },
    version: { N: String(TABLE_LAYOUT_VERSION) },
  };
  const fail = new Set(failOnce);
  const error = (name: string) => Object.assign(new Error(name), { name });
  const client = {
    send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push(name);
      if (fail.delete(name)) return Promise.reject(error('TimeoutError'));
      switch (name) {
        case 'DescribeTableCommand':
          if (!table) return Promise.reject(error('ResourceNotFoundException'));
          return Promise.resolve({
            Table: {
              TableStatus: creatingDescribes-- > 0 ? 'CREATING' : 'ACTIVE',
              GlobalSecondaryIndexes: table.indexes,
              RestoreSummary: table.RestoreSummary,
            },
          });
        case 'CreateTableCommand': {
          if (table) return Promise.reject(error('ResourceInUseException'));
          table = newTable();
          if (!racingCreate) return Promise.resolve({});
          racingCreate(table);
          return Promise.reject(error('ResourceInUseException'));
        }
        case 'GetItemCommand': {
          expect(command.input).toMatchObject({
            Key: { PK: baselineItem.PK, SK: baselineItem.SK },
            ConsistentRead: true,
          });
          if (++gets === othersCreate?.baselineAtGet) table!.items.push(baselineItem);
          const found = table!.items.find((i) => i.PK.S === baselineItem.PK.S && i.SK.S === baselineItem.SK.S);
          return Promise.resolve({ Item: found });
        }
        case 'QueryCommand':
          return Promise.resolve({ Items: table!.items.filter((i) => i.PK.S === Keys.migrationPartition) });
        case 'ScanCommand':
          expect(command.input).toEqual({ TableName: 't', Limit: 1, ConsistentRead: true });
          return Promise.resolve({ Items: table!.items.slice(0, 1) });
        case 'PutItemCommand': {
          const item = command.input.Item as Item;
          const at = table!.items.findIndex((i) => i.PK.S === item.PK.S && i.SK.S === item.SK.S);
          if (at >= 0 && command.input.ConditionExpression === 'attribute_not_exists(PK)')
            return Promise.reject(error('ConditionalCheckFailedException'));
          // Unconditional: a second write replaces the record (as DynamoDB does), recorded as a second one.
          table!.items.push(item);
          return Promise.resolve({});
        }
        case 'UpdateTableCommand': {
          const update = (command.input.GlobalSecondaryIndexUpdates as { Create: { IndexName: string } }[])[0];
          table!.indexes!.push({ ...update.Create, IndexStatus: 'ACTIVE' });
          return Promise.resolve({});
        }
        case 'DescribeTimeToLiveCommand':
          return Promise.resolve({ TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED' } });
        default:
          return Promise.reject(new Error(`unexpected ${name}`));
      }
    },
  } as unknown as DynamoDBClient;
  const baselines = () =>
    (table?.items ?? []).filter(
      (item) => item.PK.S === Keys.migrationBaseline.PK && item.SK.S === Keys.migrationBaseline.SK,
    );
  return { client, sent, baselines, table: () => table };
}

const userItem: Item = { PK: { S: 'USER#u1' }, SK: { S: 'PROFILE' }, entity: { S: 'User' } };
const silentLogger = { warn: () => undefined, log: () => undefined } as unknown as Logger;
const startupConfig = (tableName: string) =>
  ({ dynamo: { tableName, startupWaitSeconds: 30, endpoint: 'http://fake' } }) as unknown as AppConfig;

describe('ensureTable when our CreateTable was not seen to succeed', () => {
  it('baselines an empty, unrestored table once ACTIVE, after the index check (which adds an index it lacks)', async () => {
    const engine = fakeEngine({ racingCreate: (table) => table.indexes!.pop() });
    await expect(ensureTable(engine.client, 't')).resolves.toBe(true);
    expect(engine.baselines()).toEqual([
      expect.objectContaining({ version: { N: String(TABLE_LAYOUT_VERSION) }, entity: { S: 'Migration' } }),
    ]);
    expect(engine.sent).toContain('UpdateTableCommand');
    expect(engine.table()!.indexes!.map((index) => index.IndexName)).toEqual(indexes.map((index) => index.IndexName));
  });

  it('leaves a table holding one item outside the MIGRATION partition without a baseline', async () => {
    const engine = fakeEngine({ racingCreate: (table) => table.items.push(userItem) });
    await expect(ensureTable(engine.client, 't')).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
    expect(engine.sent).not.toContain('PutItemCommand');
  });

  it('leaves a restored table (RestoreSummary) without a baseline, even empty', async () => {
    const engine = fakeEngine({
      racingCreate: (table) => (table.RestoreSummary = { RestoreInProgress: false, RestoreDateTime: new Date() }),
    });
    await expect(ensureTable(engine.client, 't')).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
  });

  it('refuses, without a baseline, a table whose index projects something else, as for an existing table', async () => {
    const engine = fakeEngine({
      racingCreate: (table) =>
        (table.indexes![1] = { ...table.indexes![1], Projection: { ProjectionType: 'KEYS_ONLY' } }),
    });
    const refusal = ensureTable(engine.client, 't');
    await expect(refusal).rejects.toBeInstanceOf(StartupError);
    await expect(refusal).rejects.toThrow(new RegExp(`index ${indexes[1].IndexName} projects KEYS_ONLY, not`));
    expect(engine.baselines()).toEqual([]);
  });

  it('two processes judging one new table at once write one baseline, and both start', async () => {
    const engine = fakeEngine({ racingCreate: () => undefined });
    const both = await Promise.all([ensureTable(engine.client, 't'), ensureTable(engine.client, 't')]);
    expect(both.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(engine.baselines()).toHaveLength(1);
  });
});

describe('createOrCheckTable (start-up with DYNAMODB_CREATE_TABLE)', () => {
  it('an attempt that created the table, then failed before its baseline, is retried: the retry baselines the empty table', async () => {
    const engine = fakeEngine({ failOnce: ['PutItemCommand'] });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(true);
    expect(engine.sent.filter((name) => name === 'CreateTableCommand')).toHaveLength(1);
    expect(engine.sent.filter((name) => name === 'PutItemCommand')).toHaveLength(2);
    expect(engine.baselines()).toHaveLength(1);
  });

  it('the retry of an attempt that created the table leaves it un-baselined when an item arrived meanwhile', async () => {
    const engine = fakeEngine({ failOnce: ['PutItemCommand'] });
    const scan = engine.client.send.bind(engine.client);
    // An older build's process writes into the table between the attempts.
    engine.client.send = ((command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'ScanCommand') engine.table()!.items.push(userItem);
      return scan(command as never);
    }) as typeof engine.client.send;
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
  });
});

describe('ensureTable on a table another process is creating (found CREATING)', () => {
  /** A wait that only counts: the bound is 15 s of polls every 0.5 s, passed at once. */
  function countedWait() {
    const waits: number[] = [];
    return { waits, wait: (ms: number) => Promise.resolve(void waits.push(ms)) };
  }
  const migrationCheck = (engine: ReturnType<typeof fakeEngine>) =>
    assertMigrationsApplied(engine.client, 't', MIGRATIONS, false);

  it("waits for its creator's baseline, writes none itself, and the migration check then passes", async () => {
    const engine = fakeEngine({ othersCreate: { creatingDescribes: 1, baselineAtGet: 4 } });
    const { waits, wait } = countedWait();
    await expect(ensureTable(engine.client, 't', {}, { maxWaitMs: 15_000, pollMs: 500, wait })).resolves.toBe(false);
    expect(waits).toEqual([500, 500, 500]);
    expect(engine.sent).not.toContain('PutItemCommand');
    expect(engine.sent).not.toContain('CreateTableCommand');
    await expect(migrationCheck(engine)).resolves.toEqual([]);
  });

  it('gives up after the bound when no baseline comes (an older build made it), and the check refuses it', async () => {
    const engine = fakeEngine({ othersCreate: { creatingDescribes: 1 } });
    const { waits, wait } = countedWait();
    await expect(ensureTable(engine.client, 't', {}, { maxWaitMs: 15_000, pollMs: 500, wait })).resolves.toBe(false);
    expect(waits.reduce((sum, ms) => sum + ms, 0)).toBe(15_000);
    expect(engine.sent.filter((name) => name === 'GetItemCommand')).toHaveLength(31);
    expect(engine.baselines()).toEqual([]);
    await expect(migrationCheck(engine)).rejects.toBeInstanceOf(MigrationsPendingError);
  });

  it('does not wait for a table found ACTIVE: an existing table without a baseline is refused at once', async () => {
    const engine = fakeEngine({ othersCreate: { creatingDescribes: 0, baselineAtGet: 2 } });
    const { waits, wait } = countedWait();
    await expect(ensureTable(engine.client, 't', {}, { wait })).resolves.toBe(false);
    expect(waits).toEqual([]);
    expect(engine.sent).not.toContain('GetItemCommand');
    await expect(migrationCheck(engine)).rejects.toBeInstanceOf(MigrationsPendingError);
  });

  it('a start-up attempt that found it CREATING and failed lets the retry, finding it ACTIVE, still wait', async () => {
    const engine = fakeEngine({
      othersCreate: { creatingDescribes: 1, baselineAtGet: 3 },
      failOnce: ['GetItemCommand'],
    });
    const { waits, wait } = countedWait();
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger, { wait })).resolves.toBe(false);
    expect(engine.sent.filter((name) => name === 'DescribeTableCommand').length).toBeGreaterThanOrEqual(3);
    expect(waits).toEqual([500, 500]);
    expect(engine.sent).not.toContain('PutItemCommand');
    await expect(migrationCheck(engine)).resolves.toEqual([]);
  });
});
