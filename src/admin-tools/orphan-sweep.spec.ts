import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { sweepOrphans } from './orphan-sweep.js';

/**
 * A table of keys, served to the sweep's Scan in one page; `writtenSince` are items committed after
 * the Scan passed their place (found by a later read only). Records the deletes.
 */
function tableOf(items: Record<string, unknown>[], writtenSince: Record<string, unknown>[] = []) {
  const deleted: string[] = [];
  const conditions: string[] = [];
  const now = [...items, ...writtenSince];
  const client = {
    send(command: unknown) {
      if (command instanceof ScanCommand) return Promise.resolve({ Items: items });
      if (command instanceof BatchGetCommand) {
        const request = Object.values(command.input.RequestItems ?? {})[0];
        expect(request.ConsistentRead).toBe(true);
        const keys = (request.Keys ?? []).map((key) => `${String(key.PK)} ${String(key.SK)}`);
        // As DynamoDB: a BatchGetItem with a key twice is refused.
        expect(new Set(keys).size).toBe(keys.length);
        return Promise.resolve({
          Responses: { table: now.filter((item) => keys.includes(`${String(item.PK)} ${String(item.SK)}`)) },
        });
      }
      if (command instanceof DeleteCommand) {
        deleted.push(`${String(command.input.Key?.PK)} ${String(command.input.Key?.SK)}`);
        conditions.push(
          `${command.input.ConditionExpression} ${String(command.input.ExpressionAttributeValues?.[':userId'])}`,
        );
        return Promise.resolve({});
      }
      if (command instanceof BatchWriteCommand) {
        for (const request of Object.values(command.input.RequestItems ?? {}).flat())
          deleted.push(`${String(request.DeleteRequest?.Key?.PK)} ${String(request.DeleteRequest?.Key?.SK)}`);
        return Promise.resolve({});
      }
      return Promise.reject(new Error(`unexpected ${String(command)}`));
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, deleted, conditions };
}

describe('sweepOrphans', () => {
  it('removes a user partition without its user item, and keeps those without one by design (review 4, #6)', async () => {
    const { client, deleted, conditions } = tableOf([
      { PK: 'USER#alive', SK: 'USER' },
      { PK: 'USER#alive', SK: 'PROFILE' },
      // A hard delete that stopped after the user item: the rest is left over.
      { PK: 'USER#gone', SK: 'PROFILE' },
      { PK: 'USER#gone', SK: 'USER#POSTS' },
      { PK: 'UNIQUE#EMAIL#gone@example.com', SK: 'UNIQUE', userId: 'gone' },
      // Erased authors' posts are counted here: there is never a user item.
      { PK: 'USER#deleted-user', SK: 'USER#POSTS' },
      // A link request for an unknown address: the processor drops it, `ttl` removes it.
      { PK: 'USER#nobody-Xy3_abc', SK: 'MAILREQ#Xy3_abc' },
    ]);
    const result = await sweepOrphans(client, 'table');
    expect(result.orphanPartitions.sort()).toEqual(['UNIQUE#EMAIL#gone@example.com', 'USER#gone']);
    expect(deleted.sort()).toEqual([
      'UNIQUE#EMAIL#gone@example.com UNIQUE',
      'USER#gone PROFILE',
      'USER#gone USER#POSTS',
    ]);
    expect(result).toMatchObject({ scannedItems: 7, deletedItems: 3 });
    // The claim goes only while it still names the user the Scan saw.
    expect(conditions).toEqual(['userId = :userId gone']);
  });

  it('keeps what an account or a post created during the Scan left without its anchor in the Scan (review 5, #2)', async () => {
    // The Scan passed USER#new and POST#p before their transactions committed, then saw the rest.
    const { client, deleted } = tableOf(
      [
        { PK: 'UNIQUE#EMAIL#new@example.com', SK: 'UNIQUE', userId: 'new' },
        { PK: 'UNIQUE#USERNAME#newbie', SK: 'UNIQUE', userId: 'new' },
        { PK: 'POST#p', SK: 'CONTENT' },
      ],
      [
        { PK: 'USER#new', SK: 'USER' },
        { PK: 'POST#p', SK: 'POST' },
      ],
    );
    expect(await sweepOrphans(client, 'table')).toEqual({ scannedItems: 3, orphanPartitions: [], deletedItems: 0 });
    expect(deleted).toEqual([]);
  });

  it("leaves a deleted post's partition to its cascade while the tombstone is there (its likes go with their counts)", async () => {
    const { client, deleted } = tableOf([
      { PK: 'POST#p', SK: 'COUNTS', deletedAt: '2026-11-26T22:00:00.000Z' },
      { PK: 'POST#p', SK: 'LIKE#u1' },
      { PK: 'POST#q', SK: 'LIKE#u2' },
    ]);
    const result = await sweepOrphans(client, 'table');
    expect(result.orphanPartitions).toEqual(['POST#q']);
    expect(deleted).toEqual(['POST#q LIKE#u2']);
  });

  it("removes a post's like, view and comment shards and comment pointers with its partition when its summary is gone, and keeps them while it exists or its cascade runs", async () => {
    const { client, deleted } = tableOf([
      // Gone without its cascade (a crash midway): its partition and its shards go.
      { PK: 'POST#gone', SK: 'POST#CONTENT' },
      { PK: 'POSTLIKES#gone#3', SK: 'LIKE#u1' },
      { PK: 'POSTLIKES#gone#3', SK: 'COUNT' },
      { PK: 'POSTLIKES#gone#7', SK: 'LIKE#u2' },
      { PK: 'VIEWS#gone#0', SK: 'VIEWS' },
      { PK: 'CMTID#gone#c1', SK: 'CMTID' },
      { PK: 'POSTCOMMENTS#gone#2', SK: 'COUNT' },
      // Alive: its summary is there.
      { PK: 'POST#live', SK: 'POST' },
      { PK: 'POSTLIKES#live#3', SK: 'LIKE#u1' },
      { PK: 'CMTID#live#c2', SK: 'CMTID' },
      { PK: 'POSTCOMMENTS#live#1', SK: 'COUNT' },
      // Deleted, its cascade still running: the tombstone says so.
      { PK: 'POST#deleted', SK: 'COUNTS', deletedAt: '2026-11-27T04:00:00.000Z' },
      { PK: 'POSTLIKES#deleted#1', SK: 'LIKE#u3' },
    ]);
    const result = await sweepOrphans(client, 'table');
    expect(result.orphanPartitions.sort()).toEqual([
      'CMTID#gone#c1',
      'POST#gone',
      'POSTCOMMENTS#gone#2',
      'POSTLIKES#gone#3',
      'POSTLIKES#gone#7',
      'VIEWS#gone#0',
    ]);
    expect(deleted.sort()).toEqual([
      'CMTID#gone#c1 CMTID',
      'POST#gone POST#CONTENT',
      'POSTCOMMENTS#gone#2 COUNT',
      'POSTLIKES#gone#3 COUNT',
      'POSTLIKES#gone#3 LIKE#u1',
      'POSTLIKES#gone#7 LIKE#u2',
      'VIEWS#gone#0 VIEWS',
    ]);
  });

  it('reports without deleting on a dry run', async () => {
    const { client, deleted } = tableOf([{ PK: 'USER#gone', SK: 'PROFILE' }]);
    expect(await sweepOrphans(client, 'table', true)).toEqual({
      scannedItems: 1,
      orphanPartitions: ['USER#gone'],
      deletedItems: 0,
    });
    expect(deleted).toEqual([]);
  });
});
