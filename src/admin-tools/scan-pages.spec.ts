import { type DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { scanPages } from './scan-pages.js';

/** A table served in pages of `pageSize`, with a filter that keeps the items `keep` accepts. */
function tableOf(items: Record<string, unknown>[], pageSize: number, keep = (_item: Record<string, unknown>) => true) {
  const inputs: ScanCommandInput[] = [];
  const client = {
    send(command: unknown) {
      if (!(command instanceof ScanCommand)) return Promise.reject(new Error('not a Scan'));
      inputs.push(command.input);
      const start = Number(command.input.ExclusiveStartKey?.at ?? 0);
      const page = items.slice(start, start + pageSize);
      const end = start + page.length;
      return Promise.resolve({
        Items: page.filter(keep),
        ScannedCount: page.length,
        LastEvaluatedKey: end < items.length ? { at: end } : undefined,
      });
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, inputs };
}

const collect = async <T>(pages: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
};

describe('scanPages', () => {
  const items = Array.from({ length: 5 }, (_, i) => ({ PK: `X#${i}`, SK: 'X', odd: i % 2 === 1 }));

  it('follows LastEvaluatedKey to the end, passing the caller’s input on every page', async () => {
    const { client, inputs } = tableOf(items, 2);
    const input = { TableName: 't', ConsistentRead: true, ProjectionExpression: 'PK, SK' };
    const pages = await collect(scanPages(client, input));
    expect(pages.flatMap((page) => page.items)).toEqual(items);
    expect(inputs.map((sent) => sent.ExclusiveStartKey)).toEqual([undefined, { at: 2 }, { at: 4 }]);
    expect(inputs.every((sent) => sent.ConsistentRead === true && sent.ProjectionExpression === 'PK, SK')).toBe(true);
  });

  it('reports progress over the items scanned, not only those the filter kept', async () => {
    const { client } = tableOf(items, 2, (item) => item.odd === true);
    const progress: number[] = [];
    const pages = await collect(scanPages(client, { TableName: 't' }, { onProgress: (n) => progress.push(n) }));
    expect(pages.map((page) => [page.items.length, page.scanned])).toEqual([
      [1, 2],
      [1, 2],
      [0, 1],
    ]);
    expect(progress).toEqual([2, 4, 5]);
  });

  it('fetches a page only once the previous one is consumed', async () => {
    const { client, inputs } = tableOf(items, 2);
    const pages = scanPages(client, { TableName: 't' });
    await pages.next();
    expect(inputs).toHaveLength(1);
    await pages.return(undefined);
    expect(inputs).toHaveLength(1);
  });
});
