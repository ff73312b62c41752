import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** One item's change: an UpdateItem on the item's key. */
export interface ItemUpdate {
  /** What changes, for `--dry-run` and the log. */
  description: string;
  /** The item to update when it is not the item read (a counter kept for it elsewhere). */
  key?: Item;
  updateExpression: string;
  /**
   * Must hold only while the item still needs the change (and `attribute_exists(PK)`), so that
   * running the migration again, or after the live app rewrote the item, changes nothing twice.
   */
  conditionExpression: string;
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

/**
 * An item the filter matched that the migration cannot change (a required attribute missing or
 * malformed): it stays in the old layout, so the runner counts it and names it with the reason,
 * where returning nothing would report it as already migrated (review 11, L4).
 */
export interface ItemSkipped {
  skipped: string;
}

export const isSkipped = (result: ItemChange | ItemSkipped): result is ItemSkipped => 'skipped' in result;

/**
 * One item's move to another key (a layout that keys it elsewhere): `moveTo` (the whole item at its
 * new key) is Put where nothing is, and the item read is deleted on `conditionExpression`, in one
 * transaction, so a second run, or one after a crash, moves nothing twice.
 */
export interface ItemMove {
  description: string;
  moveTo: Item;
  /** Must hold only while the item still needs the move (as `ItemUpdate`'s). */
  conditionExpression: string;
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

/** What `migrate` asks for one item. */
export type ItemChange = ItemUpdate | ItemMove;

/** What a migration may read besides the item (a count under the item's key, say). */
export interface MigrationContext {
  client: DynamoDBClient;
  tableName: string;
  /** `--dry-run`: `migrate` must write nothing itself either (0009 deletes hidden timeline entries). */
  dryRun?: boolean;
}

/**
 * A versioned data migration: one file under `src/migrations/` named `NNNN-name.ts`, listed in
 * `src/migrations/index.ts`. The runner Scans the table page by page (with `filter`), asks
 * `migrate` for each item's change and applies it with its condition, checkpointing after each
 * page in the migration's record.
 */
export interface Migration {
  /** 1, 2, ...: the layout version the table is at once this migration is applied. */
  version: number;
  name: string;
  description: string;
  /**
   * Whether the code of this version serves correct reads while the migration runs (it reads
   * both layouts). Then the app may start with it pending, if MIGRATIONS_ALLOW_ONLINE_PENDING=true.
   */
  online: boolean;
  /** A Scan FilterExpression narrowing what `migrate` sees (it is still read, and billed, in full). */
  filter?: { expression: string; names?: Record<string, string>; values?: Record<string, AttributeValue> };
  /**
   * The change an item needs (an update, or a move to another key), undefined when it has the new
   * layout already, or `{ skipped }` when it needs one that cannot be computed from it.
   */
  migrate(
    item: Item,
    context: MigrationContext,
  ): ItemChange | ItemSkipped | undefined | Promise<ItemChange | ItemSkipped | undefined>;
}

export const formatVersion = (version: number): string => String(version).padStart(4, '0');
export const migrationLabel = (m: Pick<Migration, 'version' | 'name'>): string =>
  `${formatVersion(m.version)}-${m.name}`;
