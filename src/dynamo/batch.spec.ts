import { type BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteRaw, deletePartition, type RawWriteRequest, UnprocessedItemsError } from './batch.js';

const put = (n: number): RawWriteRequest => ({ PutRequest: { Item: { PK: { S: `X#${n}` }, SK: { S: 'X' } } } });

/** A client double: each call leaves the items the script names unprocessed. */
function fakeClient(unprocessedPerCall: ((sent: RawWriteRequest[]) => RawWriteRequest[])[]) {
  const calls: RawWriteRequest[][] = [];
  const client = {
    send: (command: BatchWriteItemCommand) => {
      const sent = command.input.RequestItems!.t;
      calls.push(sent);
      const unprocessed = (unprocessedPerCall[calls.length - 1] ?? (() => []))(sent);
      return Promise.resolve({
        UnprocessedItems: unprocessed.length ? { t: unprocessed } : {},
        ConsumedCapacity: [{ TableName: 't', CapacityUnits: sent.length - unprocessed.length }],
      });
    },
  } as unknown as DynamoDBClient;
  return { client, calls };
}

describe('batchWriteRaw', () => {
  it('chunks to 25 and sends unprocessed items again, after growing delays, until none is left', async () => {
    const requests = Array.from({ length: 30 }, (_, i) => put(i));
    const { client, calls } = fakeClient([(sent) => sent.slice(20), (sent) => sent.slice(3)]);
    const delays: number[] = [];
    const consumed: number[] = [];
    const chunks: number[] = [];
    await batchWriteRaw(client, 't', requests, {
      retryDelayMs: (attempt) => {
        delays.push(attempt);
        return 0;
      },
      afterCall: (wcu) => consumed.push(wcu),
      onChunkWritten: (n) => void chunks.push(n),
    });
    expect(calls.map((c) => c.length)).toEqual([25, 5, 2, 5]);
    expect(calls[1]).toEqual(requests.slice(20, 25)); // exactly the unprocessed ones
    expect(calls[2]).toEqual(requests.slice(23, 25));
    expect(delays).toEqual([1, 2]);
    expect(consumed).toEqual([20, 3, 2, 5]);
    expect(chunks).toEqual([25, 5]);
  });

  it('throws instead of dropping items that stay unprocessed', async () => {
    const { client, calls } = fakeClient(Array.from({ length: 10 }, () => (sent: RawWriteRequest[]) => sent));
    await expect(
      batchWriteRaw(client, 't', [put(1), put(2)], { maxAttempts: 3, retryDelayMs: () => 0 }),
    ).rejects.toEqual(new UnprocessedItemsError(2));
    expect(calls).toHaveLength(3);
  });
});

describe('deletePartition', () => {
  it('reads a page of keys consistently, deletes it, then reads the next; kept keys stay', async () => {
    const pages = [
      {
        Items: [
          { PK: 'P#1', SK: 'A' },
          { PK: 'P#1', SK: 'COUNTS' },
        ],
        LastEvaluatedKey: { PK: 'P#1', SK: 'COUNTS' },
      },
      { Items: [{ PK: 'P#1', SK: 'B' }] },
    ];
    const calls: { name: string; input: Record<string, unknown> }[] = [];
    const client = {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        calls.push({ name: command.constructor.name, input: command.input });
        return Promise.resolve(command.constructor.name === 'QueryCommand' ? pages.shift() : {});
      },
    } as unknown as DynamoDBDocumentClient;

    const deleted = await deletePartition(client, 'T', 'P#1', (key) => key.SK === 'COUNTS');

    expect(deleted).toBe(2);
    expect(calls.map((call) => call.name)).toEqual([
      'QueryCommand',
      'BatchWriteCommand',
      'QueryCommand',
      'BatchWriteCommand',
    ]);
    expect(calls[0].input).toMatchObject({ ConsistentRead: true, ExpressionAttributeValues: { ':pk': 'P#1' } });
    expect(calls[2].input.ExclusiveStartKey).toEqual({ PK: 'P#1', SK: 'COUNTS' });
    expect(calls[1].input.RequestItems).toEqual({ T: [{ DeleteRequest: { Key: { PK: 'P#1', SK: 'A' } } }] });
    expect(calls[3].input.RequestItems).toEqual({ T: [{ DeleteRequest: { Key: { PK: 'P#1', SK: 'B' } } }] });
  });
});
