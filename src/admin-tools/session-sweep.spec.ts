import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sweepEndedSessions } from './session-sweep.js';

/**
 * A table whose Scan returns `scanned` in one page and whose later reads find `now` (what changed
 * after the Scan passed). Records the deletes.
 */
function tableOf(scanned: Record<string, unknown>[], now: Record<string, unknown>[] = scanned) {
  const deleted: string[] = [];
  const client = {
    send(command: unknown) {
      if (command instanceof DescribeTableCommand) return Promise.resolve({ Table: { ItemCount: scanned.length } });
      if (command instanceof ScanCommand) {
        expect(command.input.ConsistentRead).toBe(true);
        return Promise.resolve({ Items: scanned, ScannedCount: scanned.length });
      }
      if (command instanceof BatchGetCommand) {
        const request = Object.values(command.input.RequestItems ?? {})[0];
        expect(request.ConsistentRead).toBe(true);
        const keys = (request.Keys ?? []).map((key) => `${String(key.PK)} ${String(key.SK)}`);
        return Promise.resolve({
          Responses: { table: now.filter((item) => keys.includes(`${String(item.PK)} ${String(item.SK)}`)) },
        });
      }
      if (command instanceof BatchWriteCommand) {
        for (const request of Object.values(command.input.RequestItems ?? {}).flat())
          deleted.push(`${String(request.DeleteRequest?.Key?.PK)} ${String(request.DeleteRequest?.Key?.SK)}`);
        return Promise.resolve({});
      }
      return Promise.reject(new Error(`unexpected ${String(command)}`));
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, deleted };
}

const quiet = { progress: { write: () => true } };

describe('sweepEndedSessions (review 16a L3)', () => {
  it('deletes the sessions below their user’s epoch, but the one it keeps; none of a user at epoch 0', async () => {
    const { client, deleted } = tableOf([
      { PK: 'USER#a', SK: 'USER', sessionEpoch: 2, sessionEpochKeeps: 'kept' },
      { PK: 'USER#a', SK: 'SESSION#old' },
      { PK: 'USER#a', SK: 'SESSION#one', sessionEpoch: 1 },
      { PK: 'USER#a', SK: 'SESSION#kept', sessionEpoch: 1 },
      { PK: 'USER#a', SK: 'SESSION#new', sessionEpoch: 2 },
      { PK: 'USER#b', SK: 'USER' },
      { PK: 'USER#b', SK: 'SESSION#live' },
    ]);
    const result = await sweepEndedSessions(client, 'table', quiet);
    expect(deleted.sort()).toEqual(['USER#a SESSION#old', 'USER#a SESSION#one']);
    expect(result).toEqual({ scannedItems: 7, endedSessions: 2, users: 1, deletedItems: 2 });
  });

  it('judges by the user item read after the Scan: a later raise ends more; a user gone is left to db:sweep-orphans', async () => {
    const scanned = [
      { PK: 'USER#a', SK: 'USER', sessionEpoch: 1, sessionEpochKeeps: 'kept' },
      { PK: 'USER#a', SK: 'SESSION#old' },
      { PK: 'USER#a', SK: 'SESSION#kept' },
      { PK: 'USER#gone', SK: 'USER', sessionEpoch: 1 },
      { PK: 'USER#gone', SK: 'SESSION#old' },
    ];
    // Since the Scan: a sign-out everywhere raised a's epoch (its keep is gone), and gone was erased.
    const { client, deleted } = tableOf(scanned, [{ PK: 'USER#a', SK: 'USER', sessionEpoch: 2 }]);
    const result = await sweepEndedSessions(client, 'table', quiet);
    expect(deleted.sort()).toEqual(['USER#a SESSION#kept', 'USER#a SESSION#old']);
    expect(result).toMatchObject({ endedSessions: 2, users: 1 });
  });

  it('only counts with dryRun', async () => {
    const items = [
      { PK: 'USER#a', SK: 'USER', sessionEpoch: 1 },
      { PK: 'USER#a', SK: 'SESSION#old' },
    ];
    const { client, deleted } = tableOf(items);
    expect(await sweepEndedSessions(client, 'table', { ...quiet, dryRun: true })).toMatchObject({
      endedSessions: 1,
      deletedItems: 0,
    });
    expect(deleted).toEqual([]);
  });
});
