import type { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemAt, type ReadPart, readTogether } from './read-parts.js';

const key = (pk: string, sk = 'X') => ({ PK: pk, SK: sk });

/** A client double holding `stored`: it answers a BatchGetItem with the stored items of its keys. */
function fakeClient(stored: Record<string, unknown>[]) {
  const calls: BatchGetCommand['input'][] = [];
  const client = {
    send: (command: BatchGetCommand) => {
      calls.push(command.input);
      const { Keys } = command.input.RequestItems!.t;
      const found = stored.filter((item) => Keys!.some((k) => k.PK === item.PK && k.SK === item.SK));
      return Promise.resolve({ Responses: { t: found } });
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, calls };
}

/** A part that reads `keys` and answers the `n` attribute of each (undefined when absent). */
const numbers = (...keys: { PK: string; SK: string }[]): ReadPart<(number | undefined)[]> => ({
  keys,
  decode: (items) => keys.map((k) => itemAt(items, k)?.n as number | undefined),
});

describe('readTogether', () => {
  it("reads both parts' keys in one strongly consistent BatchGetItem; each part gets its own items", async () => {
    const { client, calls } = fakeClient([
      { ...key('A'), n: 1 },
      { ...key('B'), n: 2 },
      { ...key('A', 'Y'), n: 3 },
    ]);
    const [first, second] = await readTogether(
      client,
      't',
      numbers(key('A'), key('C')),
      numbers(key('B'), key('A', 'Y')),
    );
    expect(first).toEqual([1, undefined]);
    expect(second).toEqual([2, 3]);
    expect(calls).toEqual([
      { RequestItems: { t: { Keys: [key('A'), key('C'), key('B'), key('A', 'Y')], ConsistentRead: true } } },
    ]);
  });

  it('a part with no keys adds nothing to the call', async () => {
    const { client, calls } = fakeClient([{ ...key('A'), n: 1 }]);
    expect(await readTogether(client, 't', numbers(key('A')), numbers())).toEqual([[1], []]);
    expect(calls[0].RequestItems!.t.Keys).toEqual([key('A')]);
  });
});

describe('itemAt', () => {
  it('matches the partition and the sort key both', () => {
    const items = [
      { ...key('A', 'Y'), n: 1 },
      { ...key('B', 'X'), n: 2 },
    ];
    expect(itemAt(items, key('A', 'X'))).toBeUndefined();
    expect(itemAt(items, key('B', 'Y'))).toBeUndefined();
    expect(itemAt(items, key('B', 'X'))?.n).toBe(2);
  });
});
