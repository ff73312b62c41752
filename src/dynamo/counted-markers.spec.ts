import type { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  type CountedMarker,
  MARKERS_PER_TRANSACTION,
  writeCountedMarkers,
  writeSharedCounterMarkers,
} from './counted-markers.js';
import type { TransactItem } from './transactions.js';

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

  it('resends without a pair whose counter condition failed (its owner is gone): neither is written', async () => {
    // C#1's owner is gone: its counter's condition (position 1 * 2 + 1) fails.
    const { client, sent } = fakeClient([
      (markers) =>
        canceled(markers.flatMap((m) => (m === 'M#1' ? ['None', 'ConditionalCheckFailed'] : ['None', 'None']))),
    ]);
    expect(await writeCountedMarkers(client, [0, 1, 2].map(pair))).toBe(2);
    expect(sent).toEqual([
      ['M#0', 'M#1', 'M#2'],
      ['M#0', 'M#2'],
    ]);
  });

  it('hands the pairs whose counter alone failed to onCounterMissing, once per group, and resends those it returns once', async () => {
    // M#1: counter missing (made by the callback: handed back); M#2: marker there already AND counter
    // missing (done, not handed); M#3: counter missing, owner gone (not handed back).
    const counterFails = (names: string[]) => (markers: string[]) =>
      canceled(
        markers.flatMap((m) =>
          m === 'M#2'
            ? ['ConditionalCheckFailed', 'ConditionalCheckFailed']
            : names.includes(m)
              ? ['None', 'ConditionalCheckFailed']
              : ['None', 'None'],
        ),
      );
    const { client, sent } = fakeClient([counterFails(['M#1', 'M#3'])]);
    const handed: string[][] = [];
    const written = await writeCountedMarkers(client, [0, 1, 2, 3].map(pair), {
      onCounterMissing: (failed) => {
        handed.push(failed.map((p) => String(p.marker.Put?.Item?.PK)));
        return Promise.resolve(failed.filter((p) => p.marker.Put?.Item?.PK === 'M#1'));
      },
    });
    expect(handed).toEqual([['M#1', 'M#3']]);
    expect(sent).toEqual([['M#0', 'M#1', 'M#2', 'M#3'], ['M#0'], ['M#1']]);
    expect(written).toBe(2);
  });

  it('retries a conflict, and throws a cancellation that no condition explains', async () => {
    const conflict = fakeClient([() => canceled(['None', 'TransactionConflict']), () => undefined]);
    expect(await writeCountedMarkers(conflict.client, [pair(0)])).toBe(1);
    expect(conflict.sent).toHaveLength(2);
    const throttled = fakeClient([() => canceled(['None', 'ThrottlingError'])]);
    await expect(writeCountedMarkers(throttled.client, [pair(0)])).rejects.toThrow('Transaction cancelled');
  });
});

describe('writeSharedCounterMarkers', () => {
  const marker = (n: number): TransactItem => ({
    Delete: { TableName: 't', Key: { PK: `M#${n}`, SK: 'M' }, ConditionExpression: 'attribute_exists(PK)' },
  });
  /** The counter's change records how many markers it counts: `ADD n :<count>`. */
  const counter = (indexes: readonly number[]): TransactItem => ({
    Update: { TableName: 't', Key: { PK: 'C', SK: 'C' }, UpdateExpression: `ADD n :${indexes.length}` },
  });
  /** A client double: scripted outcomes per TransactWriteItems; records (counter expression, markers) sent. */
  function fakeClient(outcomes: ((markers: string[]) => Error | undefined)[]) {
    const sent: { counter: string; markers: string[] }[] = [];
    const client = {
      send: (command: TransactWriteCommand) => {
        const items = command.input.TransactItems ?? [];
        const markers = items.filter((item) => item.Delete).map((item) => String(item.Delete?.Key?.PK));
        sent.push({ counter: String(items[0].Update?.UpdateExpression), markers });
        const outcome = outcomes.shift()?.(markers);
        return outcome ? Promise.reject(outcome) : Promise.resolve({});
      },
    };
    return { client: client as unknown as DynamoDBDocumentClient, sent };
  }
  const markers = (count: number) => Array.from({ length: count }, (_, n) => marker(n));

  it('sends 99 markers a transaction after the counter (their summed change)', async () => {
    const { client, sent } = fakeClient([]);
    expect(await writeSharedCounterMarkers(client, { markers: markers(100), counter })).toEqual({
      written: 100,
      stopped: false,
    });
    expect(sent.map((t) => [t.counter, t.markers.length])).toEqual([
      ['ADD n :99', 99],
      ['ADD n :1', 1],
    ]);
  });

  it('resends without the markers gone already, counting only the others (a replay counts nothing twice)', async () => {
    const { client, sent } = fakeClient([
      (sentMarkers) => canceled(['None', ...sentMarkers.map((m) => (m === 'M#1' ? 'ConditionalCheckFailed' : 'None'))]),
    ]);
    expect(await writeSharedCounterMarkers(client, { markers: markers(3), counter })).toEqual({
      written: 2,
      stopped: false,
    });
    expect(sent).toEqual([
      { counter: 'ADD n :3', markers: ['M#0', 'M#1', 'M#2'] },
      { counter: 'ADD n :2', markers: ['M#0', 'M#2'] },
    ]);
  });

  it("stops, writing nothing more, when the counter's condition fails (the owner is gone)", async () => {
    const { client, sent } = fakeClient([() => canceled(['ConditionalCheckFailed', 'None', 'None'])]);
    expect(await writeSharedCounterMarkers(client, { markers: markers(200), counter })).toEqual({
      written: 0,
      stopped: true,
    });
    expect(sent).toHaveLength(1);
  });

  it('retries a conflict, and throws a cancellation no condition explains', async () => {
    const conflict = fakeClient([() => canceled(['TransactionConflict', 'None']), () => undefined]);
    expect((await writeSharedCounterMarkers(conflict.client, { markers: markers(1), counter })).written).toBe(1);
    expect(conflict.sent).toHaveLength(2);
    const throttled = fakeClient([() => canceled(['None', 'ThrottlingError'])]);
    await expect(writeSharedCounterMarkers(throttled.client, { markers: markers(1), counter })).rejects.toThrow(
      'Transaction cancelled',
    );
  });
});
