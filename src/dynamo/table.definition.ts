import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single table: the one source of truth for its keys, indexes, TTL and stream. Table
 * creation (app start-up, `npm run db:create-table`, the tests) is built from this.
 * `docs/data-model.md` explains what each index serves.
 */
export const TABLE_KEYS = {
  partitionKey: 'PK',
  sortKey: 'SK',
} as const;

export const GSI = {
  /** Listings ordered by time or name: users newest first, posts by author, tags by name... */
  GSI1: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', about: 'listings by time or name' },
  /** A second listing dimension for the same items (by status, by tag, by count...). */
  GSI2: { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', about: 'a second listing dimension' },
  /** A third dimension (users by role). */
  GSI3: {
    name: 'GSI3',
    partitionKey: 'GSI3PK',
    sortKey: 'GSI3SK',
    about: "a third dimension (users by role, an author's posts, a user's owned items)",
  },
  /** A fourth dimension (users by role and status). */
  GSI4: {
    name: 'GSI4',
    partitionKey: 'GSI4PK',
    sortKey: 'GSI4SK',
    about: "a fourth dimension (users by role and status, an author's posts by status)",
  },
  /** Orders by a number kept with atomic ADD (tags by post count): its sort key is numeric. */
  GSI5: {
    name: 'GSI5',
    partitionKey: 'GSI5PK',
    sortKey: 'GSI5SK',
    sortKeyType: 'N',
    about: 'ordered by a number kept with `ADD` (tags by post count)',
  },
  /**
   * A commenter's comments, on the small comment pointer items, projecting only the comment's
   * path (INCLUDE): an index entry of about 200 bytes, 1 WCU, where GSI2 and GSI3 (projection ALL)
   * copied the whole comment twice. Added by migration 0004 (issue 15).
   */
  GSI6: {
    name: 'GSI6',
    partitionKey: 'GSI6PK',
    sortKey: 'GSI6SK',
    projection: ['path'],
    about: "a commenter's comments, on the small pointer items",
  },
} as const;
export type GsiName = keyof typeof GSI;

/**
 * The layout of the data this code writes: the version of the last migration in
 * `src/migrations/`. A table created by this code starts at it (see `ensureTable`).
 */
export const TABLE_LAYOUT_VERSION = 15;

/** Numeric epoch seconds; DynamoDB TTL deletes the item some time after it passes. */
export const TTL_ATTRIBUTE = 'ttl';

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(GSI);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
      ...indexes.flatMap((index) => [
        { AttributeName: index.partitionKey, AttributeType: 'S' as const },
        { AttributeName: index.sortKey, AttributeType: 'sortKeyType' in index ? index.sortKeyType : ('S' as const) },
      ]),
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection:
        'projection' in index
          ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projection] }
          : { ProjectionType: 'ALL' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
