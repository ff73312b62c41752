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

  it('waits for an index that exists but is still CREATING (an UpdateTable whose answer was lost) until ACTIVE, without creating it again', async () => {
    const { client, sent } = fakeClient(['CREATING', 'ACTIVE']);
    const backfilling: TableDescription = {
      GlobalSecondaryIndexes: [
        ...(olderTable.GlobalSecondaryIndexes ?? []).map((index) => ({ ...index, IndexStatus: 'ACTIVE' as const })),
        { IndexName: last, IndexStatus: 'CREATING' },
      ],
    };
    await addMissingIndexes(client, 't', backfilling, { maxWaitMs: 10_000, pollMs: 1000, wait: noWait });
    expect(sent).toEqual(['DescribeTableCommand', 'DescribeTableCommand']);
  });
});

type Item = Record<string, { S?: string; N?: string }>;
interface FakeTable {
  items: Item[];
  indexes: TableDescription['GlobalSecondaryIndexes'];
  /** More of the table's description: `RestoreSummary`, `Replicas`, `GlobalTableVersion`. */
  description?: Partial<TableDescription>;
}

/**
 * A DynamoDB double holding one table (or none), for `ensureTable`'s decisions. `racingCreate`
 * stands for whoever makes the table when our CreateTable arrives: its answer to us is
 * ResourceInUse, as the SDK's retry of a create whose answer was lost is told, or a second
 * process's create. `failOnce` names commands whose first call fails as a timeout, before it runs;
 * `loseOnce`, commands whose first call runs and then fails as a timeout (the answer lost on the
 * way back). `creatingFor` DescribeTable answers after the table appears say CREATING. `denyScan`
 * answers every Scan AccessDenied (a role without `dynamodb:Scan`); `emptyScanPage`, with no item
 * but a `LastEvaluatedKey` (a page DynamoDB may answer). `sent` lists the calls in order.
 * `othersCreate` stands for another process that created the table just before us: its first
 * `creatingDescribes` DescribeTable answers say CREATING, and it writes its baseline when we send
 * our `baselineAtGet`-th GetItem (never, when undefined); `description` adds to its description
 * (its `CreationDateTime`, say).
 */
function fakeEngine({
  racingCreate,
  failOnce = [],
  loseOnce = [],
  creatingFor = 0,
  denyScan = false,
  emptyScanPage = false,
  othersCreate,
}: {
  racingCreate?: (table: FakeTable) => void;
  failOnce?: string[];
  loseOnce?: string[];
  creatingFor?: number;
  denyScan?: boolean;
  emptyScanPage?: boolean;
  othersCreate?: { creatingDescribes: number; baselineAtGet?: number; description?: Partial<TableDescription> };
} = {}) {
  const definition = tableDefinition('t');
  const newTable = (): FakeTable => ({
    items: [],
    indexes: definition.GlobalSecondaryIndexes!.map((index) => ({ ...index })),
  });
  const sent: string[] = [];
  let table: FakeTable | undefined = othersCreate && { ...newTable(), description: othersCreate.description };
  let creating = othersCreate?.creatingDescribes ?? creatingFor;
  let gets = 0;
  const baselineItem: Item = {
    PK: { S: Keys.migrationBaseline.PK },
    SK: { S: Keys.migrationBaseline.SK },
    version: { N: String(TABLE_LAYOUT_VERSION) },
  };
  const fail = new Set(failOnce);
  const lose = new Set(loseOnce);
  const error = (name: string) => Object.assign(new Error(name), { name });
  const run = (name: string, input: Record<string, unknown>): Promise<unknown> => {
    switch (name) {
      case 'DescribeTableCommand':
        if (!table) return Promise.reject(error('ResourceNotFoundException'));
        return Promise.resolve({
          Table: {
            TableStatus: creating-- > 0 ? 'CREATING' : 'ACTIVE',
            GlobalSecondaryIndexes: table.indexes,
            ...table.description,
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
        expect(input).toMatchObject({ Key: { PK: baselineItem.PK, SK: baselineItem.SK }, ConsistentRead: true });
        if (++gets === othersCreate?.baselineAtGet) table!.items.push(baselineItem);
        const found = table!.items.find((i) => i.PK.S === baselineItem.PK.S && i.SK.S === baselineItem.SK.S);
        return Promise.resolve({ Item: found });
      }
      case 'QueryCommand':
        return Promise.resolve({ Items: table!.items.filter((i) => i.PK.S === Keys.migrationPartition) });
      case 'ScanCommand': {
        expect(input).toEqual({ TableName: 't', Limit: 1, ConsistentRead: true });
        if (denyScan) return Promise.reject(error('AccessDeniedException'));
        // As DynamoDB pages: a key to go on from when `Limit` items were read (even the last
        // ones), and, as it may answer, an empty page with a key (`emptyScanPage`).
        if (emptyScanPage) return Promise.resolve({ Items: [], LastEvaluatedKey: { PK: { S: 'X' }, SK: { S: 'Y' } } });
        const page = table!.items.slice(0, 1);
        return Promise.resolve({ Items: page, LastEvaluatedKey: page[0] && { PK: page[0].PK, SK: page[0].SK } });
      }
      case 'PutItemCommand': {
        const item = input.Item as Item;
        const at = table!.items.findIndex((i) => i.PK.S === item.PK.S && i.SK.S === item.SK.S);
        if (at >= 0 && input.ConditionExpression === 'attribute_not_exists(PK)')
          return Promise.reject(error('ConditionalCheckFailedException'));
        // Unconditional: a second write replaces the record (as DynamoDB does), recorded as a second one.
        table!.items.push(item);
        return Promise.resolve({});
      }
      case 'UpdateTableCommand': {
        const update = (input.GlobalSecondaryIndexUpdates as { Create: { IndexName: string } }[])[0];
        table!.indexes!.push({ ...update.Create, IndexStatus: 'ACTIVE' });
        return Promise.resolve({});
      }
      case 'DescribeTimeToLiveCommand':
        return Promise.resolve({ TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED' } });
      default:
        return Promise.reject(new Error(`unexpected ${name}`));
    }
  };
  const client = {
    send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push(name);
      if (fail.delete(name)) return Promise.reject(error('TimeoutError'));
      const answer = run(name, command.input);
      if (!lose.delete(name)) return answer;
      return answer.then(
        () => Promise.reject(error('TimeoutError')),
        () => Promise.reject(error('TimeoutError')),
      );
    },
  } as unknown as DynamoDBClient;
  const baselines = () =>
    (table?.items ?? []).filter(
      (item) => item.PK.S === Keys.migrationBaseline.PK && item.SK.S === Keys.migrationBaseline.SK,
    );
  /** Runs `before(command name)` ahead of each call the engine gets; a promise it returns is the answer instead. */
  const intercept = (before: (name: string) => Promise<unknown> | void) => {
    const send = client.send.bind(client);
    client.send = ((command: { constructor: { name: string } }) =>
      before(command.constructor.name) ?? send(command as never)) as typeof client.send;
  };
  return { client, sent, baselines, intercept, table: () => table };
}

const userItem: Item = { PK: { S: 'USER#u1' }, SK: { S: 'PROFILE' }, entity: { S: 'User' } };
const silentLogger = { warn: () => undefined, log: () => undefined } as unknown as Logger;
const startupConfig = (tableName: string) =>
  ({ dynamo: { tableName, startupWaitSeconds: 30, endpoint: 'http://fake' } }) as unknown as AppConfig;
const count = (sent: string[], name: string) => sent.filter((sentName) => sentName === name).length;

describe('ensureTable when our CreateTable was not seen to succeed', () => {
  it('baselines an empty, unrestored table once ACTIVE, after the index check (which adds an index it lacks)', async () => {
    const engine = fakeEngine({ racingCreate: (table) => table.indexes!.pop() });
    await expect(ensureTable({ client: engine.client, tableName: 't', logger: silentLogger })).resolves.toBe(true);
    expect(engine.baselines()).toEqual([
      expect.objectContaining({ version: { N: String(TABLE_LAYOUT_VERSION) }, entity: { S: 'Migration' } }),
    ]);
    expect(engine.sent).toContain('UpdateTableCommand');
    expect(engine.table()!.indexes!.map((index) => index.IndexName)).toEqual(indexes.map((index) => index.IndexName));
  });

  it('leaves a table holding one item outside the MIGRATION partition without a baseline', async () => {
    const engine = fakeEngine({ racingCreate: (table) => table.items.push(userItem) });
    await expect(ensureTable({ client: engine.client, tableName: 't', logger: silentLogger })).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
    expect(engine.sent).not.toContain('PutItemCommand');
  });

  it('leaves a table without a baseline when the Scan answers no item but a LastEvaluatedKey (more to read)', async () => {
    const engine = fakeEngine({ racingCreate: () => undefined, emptyScanPage: true });
    await expect(ensureTable({ client: engine.client, tableName: 't', logger: silentLogger })).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
  });

  it.each<[string, Partial<TableDescription>]>([
    [
      'a restored table (RestoreSummary)',
      { RestoreSummary: { RestoreInProgress: false, RestoreDateTime: new Date() } },
    ],
    ['a replica of a global table (Replicas)', { Replicas: [{ RegionName: 'eu-west-1', ReplicaStatus: 'ACTIVE' }] }],
    ['a global table of version 2017 (GlobalTableVersion)', { GlobalTableVersion: '2017.11.29' }],
  ])('leaves %s without a baseline, even empty, and does not Scan it', async (_, description) => {
    const engine = fakeEngine({ racingCreate: (table) => (table.description = description) });
    await expect(ensureTable({ client: engine.client, tableName: 't', logger: silentLogger })).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
    expect(engine.sent).not.toContain('ScanCommand');
  });

  it('takes AccessDenied on the Scan (a role without dynamodb:Scan) as "not judged new": a warning, no baseline, no refusal', async () => {
    const engine = fakeEngine({ racingCreate: () => undefined, denyScan: true });
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), log: () => undefined };
    await expect(ensureTable({ client: engine.client, tableName: 't', logger })).resolves.toBe(false);
    expect(engine.sent).toContain('ScanCommand');
    expect(engine.baselines()).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(/table t is new .*dynamodb:Scan.*migration check decides.*db:migrate/),
    ]);
  });

  it("goes on from the waiter's own description of the ACTIVE table: a DescribeTable lagging after it does not matter", async () => {
    const engine = fakeEngine({ racingCreate: () => undefined, creatingFor: 1 });
    let describes = 0;
    // After ours (not found) and the waiter's two (CREATING, then ACTIVE), a DescribeTable answers
    // ResourceNotFound, as an AWS endpoint lagging behind the create can.
    engine.intercept((name) =>
      name === 'DescribeTableCommand' && ++describes > 3
        ? Promise.reject(Object.assign(new Error('lagging'), { name: 'ResourceNotFoundException' }))
        : undefined,
    );
    await expect(ensureTable({ client: engine.client, tableName: 't', logger: silentLogger })).resolves.toBe(true);
    expect(describes).toBe(3);
    expect(engine.baselines()).toHaveLength(1);
  });

  it('two processes judging one new table at once both Scan before either writes: one baseline (the conditional write), both start', async () => {
    const engine = fakeEngine({ racingCreate: () => undefined });
    const both = await Promise.all([
      ensureTable({ client: engine.client, tableName: 't', logger: silentLogger }),
      ensureTable({ client: engine.client, tableName: 't', logger: silentLogger }),
    ]);
    const judged = engine.sent.filter((name) => name === 'ScanCommand' || name === 'PutItemCommand');
    expect(judged).toEqual(['ScanCommand', 'ScanCommand', 'PutItemCommand', 'PutItemCommand']);
    expect(both).toEqual([true, true]);
    expect(engine.baselines()).toHaveLength(1);
  });
});

describe('createOrCheckTable (start-up with DYNAMODB_CREATE_TABLE)', () => {
  it('an attempt whose CreateTable was answered 200, then failed before its baseline, is retried: the retry judges the table, and an item that arrived meanwhile keeps it un-baselined', async () => {
    const engine = fakeEngine({ failOnce: ['PutItemCommand'] });
    // An older build's process writes into the table between the attempts: no longer just made.
    engine.intercept((name) => {
      if (name === 'DescribeTableCommand' && engine.table()?.items.length === 0) engine.table()!.items.push(userItem);
    });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(false);
    expect(count(engine.sent, 'CreateTableCommand')).toBe(1);
    expect(engine.sent).toContain('ScanCommand');
    expect(count(engine.sent, 'PutItemCommand')).toBe(1);
    expect(engine.baselines()).toEqual([]);
  });

  it('the retry after a CreateTable answered 200 baselines the table when the Scan finds it still empty', async () => {
    const engine = fakeEngine({ failOnce: ['PutItemCommand'] });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(true);
    expect(count(engine.sent, 'CreateTableCommand')).toBe(1);
    expect(engine.sent).toContain('ScanCommand');
    expect(engine.baselines()).toHaveLength(1);
  });

  it('the retry after a CreateTable answered 200 keeps the baseline the first attempt wrote (its answer lost): found by GetItem, no Scan', async () => {
    const engine = fakeEngine({ loseOnce: ['PutItemCommand'] });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(true);
    expect(engine.sent).toContain('GetItemCommand');
    expect(engine.sent).not.toContain('ScanCommand');
    expect(engine.baselines()).toHaveLength(1);
  });

  it('an attempt whose CreateTable was applied but every answer lost is retried: the retry judges the table and baselines it empty', async () => {
    const engine = fakeEngine({ loseOnce: ['CreateTableCommand'] });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(true);
    expect(count(engine.sent, 'CreateTableCommand')).toBe(1);
    expect(engine.sent).toContain('ScanCommand');
    expect(engine.baselines()).toHaveLength(1);
  });

  it('the retry of an attempt whose CreateTable answer was lost leaves the table un-baselined when an item arrived meanwhile', async () => {
    const engine = fakeEngine({ loseOnce: ['CreateTableCommand'] });
    // An older build's process writes into the table between the attempts.
    engine.intercept((name) => {
      if (name === 'ScanCommand') engine.table()!.items.push(userItem);
    });
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger)).resolves.toBe(false);
    expect(engine.baselines()).toEqual([]);
  });
});

describe('ensureTable on a table another process is creating (found CREATING)', () => {
  /** A logger that keeps what start-up says, level first. */
  function recordingLogger() {
    const said: string[] = [];
    const logger = {
      log: (message: string) => void said.push(`log: ${message}`),
      warn: (message: string) => void said.push(`warn: ${message}`),
    };
    return { logger, said };
  }
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
    const { logger, said } = recordingLogger();
    await expect(
      ensureTable({
        client: engine.client,
        tableName: 't',
        baselineWait: { maxWaitMs: 15_000, pollMs: 500, wait },
        logger,
      }),
    ).resolves.toBe(false);
    expect(waits).toEqual([500, 500, 500]);
    // The operator is told why start-up pauses, once, and not warned: the baseline came.
    expect(said).toEqual([
      'log: The table t is being created, or was created moments ago, by another process: waiting up to 15 s for its layout baseline.',
    ]);
    expect(engine.sent).not.toContain('PutItemCommand');
    expect(engine.sent).not.toContain('CreateTableCommand');
    await expect(migrationCheck(engine)).resolves.toEqual([]);
  });

  it('gives up after the bound when no baseline comes (an older build made it), and the check refuses it', async () => {
    const engine = fakeEngine({ othersCreate: { creatingDescribes: 1 } });
    const { waits, wait } = countedWait();
    const { logger, said } = recordingLogger();
    await expect(
      ensureTable({
        client: engine.client,
        tableName: 't',
        baselineWait: { maxWaitMs: 15_000, pollMs: 500, wait },
        logger,
      }),
    ).resolves.toBe(false);
    expect(waits.reduce((sum, ms) => sum + ms, 0)).toBe(15_000);
    expect(said).toHaveLength(2);
    expect(said[1]).toMatch(
      /^warn: No layout baseline for the table t after 15 s: .* so the migration check decides\.$/,
    );
    expect(engine.sent.filter((name) => name === 'GetItemCommand')).toHaveLength(31);
    expect(engine.baselines()).toEqual([]);
    await expect(migrationCheck(engine)).rejects.toBeInstanceOf(MigrationsPendingError);
  });

  const now = Date.parse('2026-11-28T00:00:00Z');
  const createdSecondsAgo = (seconds: number) => ({ CreationDateTime: new Date(now - seconds * 1000) });

  it('does not wait for a table found ACTIVE and older than the young age: one without a baseline is refused at once', async () => {
    const engine = fakeEngine({
      othersCreate: { creatingDescribes: 0, baselineAtGet: 2, description: createdSecondsAgo(121) },
    });
    const { waits, wait } = countedWait();
    const baselineWait = { wait, now: () => now };
    await expect(ensureTable({ client: engine.client, tableName: 't', baselineWait })).resolves.toBe(false);
    expect(waits).toEqual([]);
    expect(engine.sent).not.toContain('GetItemCommand');
    await expect(migrationCheck(engine)).rejects.toBeInstanceOf(MigrationsPendingError);
  });

  it('a second process finding the table ACTIVE while its creator is between ACTIVE and its baseline (the young-table window) waits, and starts once the baseline appears', async () => {
    const engine = fakeEngine({
      othersCreate: { creatingDescribes: 0, baselineAtGet: 3, description: createdSecondsAgo(20) },
    });
    const { waits, wait } = countedWait();
    const baselineWait = { wait, now: () => now };
    await expect(createOrCheckTable(engine.client, startupConfig('t'), silentLogger, baselineWait)).resolves.toBe(
      false,
    );
    expect(waits).toEqual([500, 500]);
    expect(engine.sent).not.toContain('PutItemCommand');
    await expect(migrationCheck(engine)).resolves.toEqual([]);
  });

  it.each<[string, Partial<TableDescription>, number | undefined]>([
    ['older than a young age the caller set (10 s)', createdSecondsAgo(20), 10_000],
    [
      'restored (a RestoreSummary): no creator writes its baseline',
      {
        ...createdSecondsAgo(20),
        RestoreSummary: { RestoreInProgress: false, RestoreDateTime: new Date(now) },
      },
      undefined,
    ],
    ['without a CreationDateTime', {}, undefined],
  ])('does not wait for a table found ACTIVE %s', async (_, description, youngMs) => {
    const engine = fakeEngine({ othersCreate: { creatingDescribes: 0, baselineAtGet: 2, description } });
    const { waits, wait } = countedWait();
    const baselineWait = { wait, now: () => now, youngMs };
    await expect(ensureTable({ client: engine.client, tableName: 't', baselineWait })).resolves.toBe(false);
    expect(waits).toEqual([]);
    expect(engine.sent).not.toContain('GetItemCommand');
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
