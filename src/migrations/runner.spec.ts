import { GetItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CapacityLimiter } from '../dynamo/capacity-limiter.js';
import type { Item, ItemMove, ItemUpdate, Migration } from './migration.js';
import { applyToItem, runMigrations } from './runner.js';

const conditionFailed = () =>
  Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

/** A migration that sets `count` to twice the item's `base`, on condition of the `base` it read. */
const doubling: Migration = {
  version: 99,
  name: 'doubling',
  description: 'test',
  online: false,
  migrate: (item: Item): ItemUpdate | undefined =>
    item.count
      ? undefined
      : {
          description: 'double',
          updateExpression: 'SET #count = :count',
          conditionExpression: '#base = :base',
          names: { '#count': 'count', '#base': 'base' },
          values: { ':count': { N: String(2 * Number(item.base.N)) }, ':base': item.base },
        },
};

/** Answers UpdateItem with the scripted outcomes and GetItem with the scripted items, recording the writes. */
function scriptedClient(updates: ('ok' | 'refused')[], reads: (Item | undefined)[]) {
  const written: string[] = [];
  const answer = (command: unknown) => {
    if (command instanceof UpdateItemCommand) {
      written.push(String(command.input.ExpressionAttributeValues?.[':count']?.N));
      if (updates.shift() === 'refused') throw conditionFailed();
      return {};
    }
    if (command instanceof GetItemCommand) return { Item: reads.shift() };
    throw new Error('unexpected command');
  };
  return { client: { send: (command: unknown) => Promise.resolve().then(() => answer(command)) } as never, written };
}

const item: Item = { PK: { S: 'A' }, SK: { S: 'B' }, base: { N: '1' } };
const run = (client: never) => ({
  client,
  tableName: 't',
  migration: doubling,
  label: '0099-doubling',
  writes: new CapacityLimiter(undefined),
});

describe('applyToItem (db:migrate, one item)', () => {
  it('migrates an item that changed since the Scan from its new value, not skipping it (review 11, M2)', async () => {
    // A writer moved base from 1 to 5 between the Scan and the update: the update computed from 1 fails.
    const { client, written } = scriptedClient(['refused', 'ok'], [{ ...item, base: { N: '5' } }]);
    await expect(applyToItem(run(client), item, doubling.migrate(item, {} as never) as ItemUpdate)).resolves.toBe(true);
    expect(written).toEqual(['2', '10']);
  });

  it('counts nothing for an item migrated or deleted meanwhile', async () => {
    const migrated = scriptedClient(['refused'], [{ ...item, count: { N: '2' } }]);
    await expect(
      applyToItem(run(migrated.client), item, doubling.migrate(item, {} as never) as ItemUpdate),
    ).resolves.toBe(false);
    const deleted = scriptedClient(['refused'], [undefined]);
    await expect(
      applyToItem(run(deleted.client), item, doubling.migrate(item, {} as never) as ItemUpdate),
    ).resolves.toBe(false);
  });

  it('reports as skipped an item rewritten meanwhile into one it cannot migrate (review 12, L3)', async () => {
    const { client } = scriptedClient(['refused'], [{ ...item, base: { N: '7' } }]);
    const picky: Migration = {
      ...doubling,
      migrate: (read) => (read.base.N === '7' ? { skipped: 'odd base' } : doubling.migrate(read, {} as never)),
    };
    await expect(
      applyToItem({ ...run(client), migration: picky }, item, doubling.migrate(item, {} as never) as ItemUpdate),
    ).resolves.toEqual({ skipped: 'odd base' });
  });

  it('stops the run, naming the item, when it keeps changing', async () => {
    const { client } = scriptedClient(['refused', 'refused', 'refused'], [item, item]);
    await expect(applyToItem(run(client), item, doubling.migrate(item, {} as never) as ItemUpdate)).rejects.toThrow(
      /0099-doubling: the item A\/B changed under it 3 times/,
    );
  });

  it('moves an item to another key in one transaction: the copy where nothing is, the item deleted on its condition', async () => {
    const move: ItemMove = {
      description: 'move',
      moveTo: { ...item, PK: { S: 'C' } },
      conditionExpression: 'attribute_exists(PK)',
    };
    const sent: TransactWriteItemsCommand[] = [];
    const refusals = [true, false];
    const reads: (Item | undefined)[] = [item];
    const client = {
      send: (command: unknown) =>
        Promise.resolve().then(() => {
          if (command instanceof GetItemCommand) return { Item: reads.shift() };
          if (!(command instanceof TransactWriteItemsCommand)) throw new Error('unexpected command');
          sent.push(command);
          if (refusals.shift())
            throw Object.assign(new Error('canceled'), {
              name: 'TransactionCanceledException',
              CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
            });
          return {};
        }),
    } as never;
    const moving: Migration = { ...doubling, migrate: () => move };
    // Refused once (the item changed), read again, moved.
    await expect(applyToItem({ ...run(client), migration: moving }, item, move)).resolves.toBe(true);
    expect(sent).toHaveLength(2);
    expect(sent[1].input.TransactItems).toEqual([
      { Put: { TableName: 't', Item: move.moveTo, ConditionExpression: 'attribute_not_exists(PK)' } },
      {
        Delete: {
          TableName: 't',
          Key: { PK: item.PK, SK: item.SK },
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: undefined,
          ExpressionAttributeValues: undefined,
        },
      },
    ]);
  });

  it('skips, naming the new key, a move whose new key is taken: no retries, no "changed under it" (review 12, L2)', async () => {
    const move: ItemMove = {
      description: 'move',
      moveTo: { ...item, PK: { S: 'C' } },
      conditionExpression: 'attribute_exists(PK)',
    };
    let sends = 0;
    const client = {
      send: () =>
        Promise.resolve().then(() => {
          sends++;
          throw Object.assign(new Error('canceled'), {
            name: 'TransactionCanceledException',
            CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
          });
        }),
    } as never;
    await expect(
      applyToItem({ ...run(client), migration: { ...doubling, migrate: () => move } }, item, move),
    ).resolves.toEqual({
      skipped: expect.stringContaining('its new key C/B holds an item already'),
    });
    expect(sends).toBe(1);
  });
});

describe('runMigrations (db:migrate)', () => {
  /** One Scan page of `items`; records every other call's command name and the log's lines. */
  function tableOf(items: Item[]) {
    const updates: Record<string, unknown>[] = [];
    const answer = (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      switch (command.constructor.name) {
        case 'QueryCommand':
          return { Items: [] };
        case 'PutItemCommand':
          return {};
        case 'DescribeTableCommand':
          return { Table: { ItemCount: items.length } };
        case 'ScanCommand':
          return { Items: items, ScannedCount: items.length };
        case 'UpdateItemCommand':
          updates.push(command.input);
          return {};
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    };
    const client = { send: (command: never) => Promise.resolve().then(() => answer(command)) } as never;
    return { client, updates };
  }

  it('counts and names an item the migration skips, and does not count it as changed (review 11, L4)', async () => {
    const skipping: Migration = {
      ...doubling,
      migrate: (row: Item) => (row.base ? doubling.migrate(row, {} as never) : { skipped: 'no base to double' }),
    };
    const { client, updates } = tableOf([item, { PK: { S: 'C' }, SK: { S: 'D' } }]);
    const lines: string[] = [];
    const [result] = await runMigrations({ client, tableName: 't', migrations: [skipping], log: (l) => lines.push(l) });
    expect(result).toMatchObject({ scanned: 2, changed: 1, skipped: 1 });
    expect(lines).toContain('  skipped C/D: no base to double');
    expect(lines.at(-1)).toContain('1 changed, 1 skipped');
    // The page's checkpoint keeps the count for a run that continues later.
    const checkpoint = updates.find((u) => String(u.UpdateExpression).includes('ADD scanned'));
    expect(checkpoint?.ExpressionAttributeValues).toMatchObject({ ':skipped': { N: '1' }, ':changed': { N: '1' } });
  });
});
