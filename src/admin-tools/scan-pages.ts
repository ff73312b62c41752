import {
  type DynamoDBDocumentClient,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';

export type ScanPageInput = Omit<ScanCommandInput, 'ExclusiveStartKey'>;

/** One page of a Scan: the items it returned (after any filter) and how many it read. */
export interface ScanPage {
  items: NonNullable<ScanCommandOutput['Items']>;
  /** Items the page read before its filter (`ScannedCount`, or the items when that is missing). */
  scanned: number;
}

export interface ScanPagesOptions {
  /** Called after each page with the items scanned so far (before filters): a progress bar's `update`. */
  onProgress?: (scannedSoFar: number) => void;
}

/**
 * Offline tooling only, never a request path: the pages of one Scan of `input`, each fetched once
 * the previous one is consumed, following `LastEvaluatedKey` to the end of the table. The caller
 * names the table and chooses `ConsistentRead`, `ProjectionExpression` and any filter.
 */
export async function* scanPages(
  client: DynamoDBDocumentClient,
  input: ScanPageInput,
  options: ScanPagesOptions = {},
): AsyncGenerator<ScanPage> {
  let scannedSoFar = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey }));
    const items = page.Items ?? [];
    const scanned = page.ScannedCount ?? items.length;
    scannedSoFar += scanned;
    options.onProgress?.(scannedSoFar);
    yield { items, scanned };
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}
