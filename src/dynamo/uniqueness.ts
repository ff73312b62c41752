import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ENTITY, type ItemKey } from './keys.js';
import type { TransactOperation } from './transactions.js';

/** What one kind of unique value (emails, usernames, a kind of slug) needs to be claimed and released. */
export interface UniqueValueKind {
  tableName: string;
  /** The uniqueness item's key for a value (`Keys.uniqueEmail`, ...). */
  key: (value: string) => ItemKey;
  /** The item's `kind` attribute (`email`, `tag-slug`). */
  kind: string;
  /** The attribute that names the owner: users' items say `userId`, slugs' `ownerId`. */
  ownerAttribute: string;
  /** The claim's failed condition: the value is someone else's (409). */
  taken: (value: string) => Error;
  /** The release's failed condition: the value is no longer the owner's. */
  lost: (value: string) => Error;
}

/**
 * Uniqueness items (docs/data-model.md, rule 2): a value is owned through an item keyed by the
 * value, claimed with `attribute_not_exists` in the same transaction as the owner's write, so two
 * concurrent claims can never both succeed. One instance per kind of value.
 */
export class UniqueValues {
  constructor(private readonly spec: UniqueValueKind) {}

  /**
   * The transaction part that claims `value` for `ownerId` (the kind's `taken` error when owned).
   * `or` names an item that may be claimed though it is there (an email's lapsed reservation).
   */
  claim(
    value: string,
    ownerId: string,
    or?: { expression: string; values: Record<string, unknown> },
  ): TransactOperation {
    const { tableName, key, kind, ownerAttribute, taken } = this.spec;
    return {
      item: {
        Put: {
          TableName: tableName,
          Item: { ...key(value), entity: ENTITY.Unique, kind, [ownerAttribute]: ownerId },
          ConditionExpression: or ? `attribute_not_exists(PK) OR (${or.expression})` : 'attribute_not_exists(PK)',
          ...(or ? { ExpressionAttributeValues: or.values } : {}),
        },
      },
      onConditionFailed: () => taken(value),
    };
  }

  /**
   * The part that gives up `value`, on condition that `ownerId` still owns it (with `ifPresent`,
   * or that it is gone already: an erasure that runs again).
   */
  release(value: string, ownerId: string, { ifPresent = false }: { ifPresent?: boolean } = {}): TransactOperation {
    const { tableName, key, ownerAttribute, lost } = this.spec;
    const owned = `${ownerAttribute} = :owner`;
    return {
      item: {
        Delete: {
          TableName: tableName,
          Key: key(value),
          ConditionExpression: ifPresent ? `attribute_not_exists(PK) OR ${owned}` : owned,
          ExpressionAttributeValues: { ':owner': ownerId },
        },
      },
      onConditionFailed: () => lost(value),
    };
  }

  /** Moves ownership from one value to another atomically (release and claim); nothing when they are equal. */
  swap(from: string, to: string, ownerId: string): TransactOperation[] {
    return from === to ? [] : [this.release(from, ownerId), this.claim(to, ownerId)];
  }

  /** The owner of a value, strongly consistent (a check must see a claim just made). */
  async ownerOf(client: DynamoDBDocumentClient, value: string): Promise<string | undefined> {
    const result = await client.send(
      new GetCommand({ TableName: this.spec.tableName, Key: this.spec.key(value), ConsistentRead: true }),
    );
    return result.Item?.[this.spec.ownerAttribute] as string | undefined;
  }
}
