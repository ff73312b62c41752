import { expect } from '@jest/globals';
import type { Response } from 'supertest';
import { dynamoCost } from './test-app.js';

/** A page of a list as the filled-page tests see it: what it shows, its cursor and its DynamoDB calls. */
export interface ListedPage<T> {
  items: T[];
  nextCursor: string | null;
  calls: number;
}

/** The query of a page: `limit`, and the cursor when there is one. */
export const pageQuery = (limit: number, cursor?: string | null) => ({ limit, ...(cursor ? { cursor } : {}) });

/** A list response's items (each as `pick` names it), its `nextCursor` and its calls (`Server-Timing`). */
export function listedPage<T>(res: Response, pick: (item: Record<string, unknown>) => T): ListedPage<T> {
  const body = res.body as { items: Record<string, unknown>[]; nextCursor: string | null };
  return { items: body.items.map(pick), nextCursor: body.nextCursor, calls: dynamoCost(res).calls };
}

/**
 * Pages of one over a list that shows `first`, then holds at least 3 hidden items, then `then`
 * (src/dynamo/pagination.ts, `filledPage`): the page after `first` reads 3 times, finds nothing
 * to show and stops there, empty with its cursor, at `cappedCalls`; the next goes on to `then`.
 * Answers the first page (its cursor is where the capped page starts).
 */
export async function expectCappedPageOfOne<T>(
  page: (limit: number, cursor?: string | null) => Promise<ListedPage<T>>,
  expected: { first: T; firstCalls: number; cappedCalls: number; then: T },
): Promise<ListedPage<T>> {
  const first = await page(1);
  expect(first).toMatchObject({ items: [expected.first], calls: expected.firstCalls });
  const capped = await page(1, first.nextCursor);
  expect(capped).toMatchObject({ items: [], calls: expected.cappedCalls });
  expect(capped.nextCursor).not.toBeNull();
  expect((await page(1, capped.nextCursor)).items).toEqual([expected.then]);
  return first;
}
