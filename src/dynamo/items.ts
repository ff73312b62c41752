import { GSI } from './table.definition.js';

/** Attributes that live on items but never leave a repository. */
const INTERNAL_ATTRIBUTES = [
  'PK',
  'SK',
  ...Object.values(GSI).flatMap((index) => [index.partitionKey, index.sortKey]),
  'entity',
  'ttl',
] as const;

const INTERNAL = new Set<string>(INTERNAL_ATTRIBUTES);

/**
 * A copy of the item without key, index and bookkeeping attributes. Built by adding the others,
 * not by deleting from a spread copy: `delete` turns an object into a slow dictionary, and every
 * later spread and read of it (a feed page maps 20 of them) paid for that, about 5 us an item.
 */
export function stripInternal<T>(item: Record<string, unknown>): T {
  const copy: Record<string, unknown> = {};
  for (const attribute of Object.keys(item)) if (!INTERNAL.has(attribute)) copy[attribute] = item[attribute];
  return copy as T;
}
