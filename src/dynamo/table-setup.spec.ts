import type { DynamoDBClient, TableDescription } from '@aws-sdk/client-dynamodb';
import { StartupError } from '../common/startup-error.js';
import { tableDefinition } from './table.definition.js';
import { addMissingIndexes } from './table.setup.js';

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
