import {
  type DynamoDBDocumentClient,
  type NativeAttributeValue,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { CursorCodec } from './cursor.js';
import type { Projection } from './expressions.js';
import { GSI, type GsiName } from './table.definition.js';

export interface Page<T> {
  items: T[];
  /** Opaque cursor of the next page; null on the last page. */
  nextCursor: string | null;
}

export interface IndexPageQuery {
  tableName: string;
  index: GsiName;
  partition: string;
  limit: number;
  cursor?: string;
  /** Newest (highest sort key) first by default. */
  ascending?: boolean;
  /** Only the entries whose sort key starts with this (a key condition: read and billed only for those). */
  sortKeyPrefix?: string;
  /** Only the entries whose sort key is at most this (a key condition), e.g. those whose time has come. */
  sortKeyAtMost?: string;
  /** `COUNT`: return no item, only how many (and the cursor after them): a skip to an offset. */
  select?: 'COUNT';
  /** Only these attributes of each entry (not with `COUNT`, which returns none). */
  projection?: Projection;
}

function keyCondition(query: IndexPageQuery, index: (typeof GSI)[GsiName]): Partial<QueryCommandInput> {
  if (query.sortKeyPrefix !== undefined)
    return {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
      ExpressionAttributeValues: { ':pk': query.partition, ':prefix': query.sortKeyPrefix },
    };
  if (query.sortKeyAtMost !== undefined)
    return {
      KeyConditionExpression: '#pk = :pk AND #sk <= :max',
      ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
      ExpressionAttributeValues: { ':pk': query.partition, ':max': query.sortKeyAtMost },
    };
  return {
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': index.partitionKey },
    ExpressionAttributeValues: { ':pk': query.partition },
  };
}

/**
 * One page of an index partition: exactly one Query of at most `limit` items, so a page costs
 * the same however many items the table holds. The cursor is bound to the index and partition.
 */
export async function queryIndexPage(
  client: DynamoDBDocumentClient,
  cursors: CursorCodec,
  query: IndexPageQuery,
): Promise<Page<Record<string, NativeAttributeValue>> & { count?: number }> {
  const index = GSI[query.index];
  const scope = `${index.name}|${query.partition}`;
  const condition = keyCondition(query, index);
  const projection = query.projection && query.select !== 'COUNT' ? query.projection : undefined;
  const result = await client.send(
    new QueryCommand({
      TableName: query.tableName,
      IndexName: index.name,
      ...condition,
      ...(projection && {
        ProjectionExpression: projection.ProjectionExpression,
        ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, ...projection.ExpressionAttributeNames },
      }),
      ScanIndexForward: query.ascending ?? false,
      Limit: query.limit,
      Select: query.select,
      ExclusiveStartKey: cursors.decode(query.cursor, scope),
    }),
  );
  return {
    items: result.Items ?? [],
    nextCursor: cursors.encode(result.LastEvaluatedKey, scope),
    ...(query.select === 'COUNT' ? { count: result.Count ?? 0 } : {}),
  };
}

/**
 * Every item a Query matches, following `LastEvaluatedKey`. Only for collections that are small
 * by construction (a user's sessions, a partition being erased), never for client listings.
 */
export async function queryAll(
  client: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, NativeAttributeValue>[]> {
  const items: Record<string, NativeAttributeValue>[] = [];
  for await (const page of queryPages(client, input)) items.push(...page);
  return items;
}

/** The pages of a Query one at a time, following `LastEvaluatedKey`: memory stays at one page. */
export async function* queryPages(
  client: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): AsyncGenerator<Record<string, NativeAttributeValue>[]> {
  let ExclusiveStartKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    yield page.Items ?? [];
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

/** Every item of `pages` up to `max`: past it, `tooMany()` is thrown and nothing more is read. */
export async function collectUpTo<T>(pages: AsyncIterable<T[]>, max: number, tooMany: () => Error): Promise<T[]> {
  const items: T[] = [];
  for await (const page of pages) {
    items.push(...page);
    if (items.length > max) throw tooMany();
  }
  return items;
}

/** How many items a Query matches (`Select: COUNT`, following `LastEvaluatedKey`). */
export async function countAll(
  client: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey' | 'Select'>,
): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const page = await client.send(new QueryCommand({ ...input, Select: 'COUNT', ExclusiveStartKey }));
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}

/**
 * Drains a paged listing: fetches page after page and hands each item to `each`, one at a time, in
 * order (a user's likes to remove, their posts to anonymise), then the page to `afterPage` (for
 * what a page carries beside its items). A page is fetched only once the previous one is done, so
 * an `each` that changes the listing it drains (a removed like leaves the index) is fine: the
 * cursor continues after the last key read.
 */
export async function drainListing<P extends Page<unknown>>(
  fetch: (cursor: string | undefined) => Promise<P>,
  each: (item: P['items'][number]) => Promise<unknown> | void,
  afterPage?: (page: P) => Promise<unknown> | void,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    for (const item of page.items) await each(item);
    await afterPage?.(page);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/**
 * Every item of a listing, at most `max`: past it, `tooMany()` is thrown once the page that
 * crossed it is read (a bounded read: `max` + one page at most).
 */
export async function allPagesUpTo<T>(
  fetch: (cursor: string | undefined) => Promise<Page<T>>,
  max: number,
  tooMany: () => Error,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    items.push(...page.items);
    if (items.length > max) throw tooMany();
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * Reads a filtered list makes at most for one page: its own and two more. Each costs what one page
 * of that list costs, so a page's calls stay bounded (docs/data-model.md, rule 10 of "Rules the
 * code follows", and each list's row).
 */
export const FILLED_PAGE_READS = 3;

/**
 * One page of a list whose items are filtered after the read (a hidden comment, a deactivated
 * follower): while the page holds fewer than `limit` items and the list goes on, `read` is called
 * again from its cursor for the missing count only, at most `reads` times in all. Asking only for
 * what is missing keeps the cursor exact (no item is read and dropped past the page), and a page
 * comes back empty with a cursor only when `reads` reads in a row found nothing to show.
 */
export async function filledPage<T>(
  limit: number,
  cursor: string | undefined,
  read: (limit: number, cursor: string | undefined) => Promise<Page<T>>,
  reads = FILLED_PAGE_READS,
): Promise<Page<T>> {
  const items: T[] = [];
  let page: Page<T> = { items, nextCursor: cursor ?? null };
  for (let done = 0; done < reads && items.length < limit && (done === 0 || page.nextCursor !== null); done++) {
    page = await read(limit - items.length, page.nextCursor ?? undefined);
    items.push(...page.items);
  }
  return { items, nextCursor: page.nextCursor };
}

/** Every item of a paged listing, page after page. */
export async function allPages<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  await drainListing(fetch, (item: T) => {
    items.push(item);
  });
  return items;
}
