import { GSI } from './table.definition.js';

/** Attributes that live on items but never leave a repository. */
const INTERNAL_ATTRIBUTES = [
  'PK',
  'SK',
  ...Object.values(GSI).flatMap((index) => [index.partitionKey, index.sortKey]),
  'entity',
  'ttl',
] as const;

/** A copy of the item without key, index and bookkeeping attributes. */
export function stripInternal<T>(item: Record<string, unknown>): T {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of INTERNAL_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}
