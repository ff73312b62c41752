import type { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type CountedMarker, MARKERS_PER_TRANSACTION, writeCountedMarkers } from './counted-markers.js';

/** DynamoDB's cancellation, with one reason per item sent (`None` where the item was fine). */
const canceled = (codes: string[]) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const pair = (n: number): CountedMarker => ({
  marker: { Put: { TableName: 't', Item: { PK: `M#${n}`, SK: 'M' }, ConditionExpression: 'attribute_not_exists(PK)' } },
  counter: { Update: { TableName: 't', Key: { PK: `C#${n}`, SK: 'C' }, UpdateExpression: 'ADD n :one' } },
});

/** A client double: each TransactWriteItems gets the next scripted outcome; it records the markers sent. */
function fakeClient(outcomes: ((markers: string[]) => Error | undefined)[]) {
  const sent: string[][] = [];
  const client = {
    send: (command: TransactWriteCommand) => {
      const items = command.input.TransactItems ?? [];
      const markers = items.filter((_, i) => i % 2 === 0).map((item) => String(item.Put?.Item?.PK));
      sent.push(markers);
      const outcome = outcomes.shift()?.(markers);
      return outcome ? Promise.reject(outcome) : Promise.resolve({});
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, sent };
}

describe('writeCountedMarkers', () => {
  it('sends 50 pairs a transaction, each marker before its counter', async () => {
    const { client, sent } = fakeClient([]);
    const pairs = Array.from({ length: 120 }, (_, n) => pair(n));
    expect(await writeCountedMarkers(client, pairs)).toBe(120);
    expect(sent.map((markers) => markers.length)).toEqual([MARKERS_PER_TRANSACTION, MARKERS_PER_TRANSACTION, 20]);
    expect(sent[0][0]).toBe('M#0');
  });

  it('resends a cancelled transaction without the pairs whose marker condition failed (a replay counts nothing twice)', async () => {
    // M#1 and M#3 are there already: their markers' conditions fail, the others are fine.
    const { client, sent } = fakeClient([
      (markers) =>
        canceled(
          markers.flatMap((m) => (['M#1', 'M#3'].includes(m) ? ['ConditionalCheckFailed', 'None'] : ['None', 'None'])),
        ),
    ]);
    expect(await writeCountedMarkers(client, [0, 1, 2, 3].map(pair))).toBe(2);
    expect(sent).toEqual([
      ['M#0', 'M#1', 'M#2', 'M#3'],
      ['M#0', 'M#2'],
    ]);
  });

  it('writes nothing and sends once more when every marker is there already', async () => {
    const { client, sent } = fakeClient([
      () => canceled(['ConditionalCheckFailed', 'None', 'ConditionalCheckFailed', 'None']),
    ]);
    expect(await writeCountedMarkers(client, [0, 1].map(pair))).toBe(0);
    expect(sent).toEqual([['M#0', 'M#1']]);
  });

  it('retries a conflict, and throws a cancellation that no marker explains (a counter condition)', async () => {
    const conflict = fakeClient([() => canceled(['None', 'TransactionConflict']), () => undefined]);
    expect(await writeCountedMarkers(conflict.client, [pair(0)])).toBe(1);
    expect(conflict.sent).toHaveLength(2);
    const counterFailed = fakeClient([() => canceled(['None', 'ConditionalCheckFailed'])]);
    await expect(writeCountedMarkers(counterFailed.client, [pair(0)])).rejects.toThrow('Transaction cancelled');
  });
});
