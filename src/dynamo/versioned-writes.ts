import { type DynamoDBDocumentClient, type NativeAttributeValue, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamo-errors.js';
import { type BuiltUpdate, buildVersionedUpdate, type UpdateSpec } from './expressions.js';
import type { ItemKey } from './keys.js';
import type { TransactOperation } from './transactions.js';

type VersionedSpec = Omit<UpdateSpec, 'add' | 'condition'> & { add?: Record<string, number> };
type ExtraCondition = Parameters<typeof buildVersionedUpdate>[2];

/**
 * Optimistic concurrency for one kind of versioned item: every write names the version it read,
 * and a failed condition is the kind's version-mismatch error (`onMismatch`, usually
 * `versionMismatch('post')`). The writes are transaction parts; `send` runs one on its own.
 */
export class VersionedWrites {
  constructor(
    private readonly tableName: string,
    private readonly onMismatch: () => Error,
  ) {}

  /** The changes and `version + 1`, on condition that the item exists at `expectedVersion`. */
  update(
    key: ItemKey,
    spec: VersionedSpec,
    expectedVersion: number,
    extraCondition?: ExtraCondition,
  ): TransactOperation {
    return this.apply(key, buildVersionedUpdate(spec, expectedVersion, extraCondition));
  }

  /** An update built already with its version condition (`buildStateUpdate`, a combined condition). */
  apply(key: ItemKey, update: BuiltUpdate): TransactOperation {
    return { item: { Update: { TableName: this.tableName, Key: key, ...update } }, onConditionFailed: this.onMismatch };
  }

  /**
   * Deletes the item at `expectedVersion`; with `whileZero`, only while that counter is 0 (a tag
   * or category still counting published posts is not deleted, whatever its version); `also` adds
   * a condition of the caller's (placeholders other than `:v` and `:zero`).
   */
  delete(
    key: ItemKey,
    expectedVersion: number,
    {
      whileZero,
      also,
    }: { whileZero?: string; also?: { expression: string; values?: Record<string, NativeAttributeValue> } } = {},
  ): TransactOperation {
    const conditions = [
      'version = :v',
      ...(whileZero ? [`${whileZero} = :zero`] : []),
      ...(also ? [also.expression] : []),
    ];
    return {
      item: {
        Delete: {
          TableName: this.tableName,
          Key: key,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: { ':v': expectedVersion, ...(whileZero ? { ':zero': 0 } : {}), ...also?.values },
        },
      },
      onConditionFailed: this.onMismatch,
    };
  }

  /** A check, inside another write's transaction, that an item is still at the version read. */
  unchanged(key: ItemKey, version: number): TransactOperation {
    return {
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': version },
        },
      },
      onConditionFailed: this.onMismatch,
    };
  }

  /** Runs one versioned update on its own (an UpdateItem, not a transaction: half the WCU). */
  async send(client: DynamoDBDocumentClient, operation: TransactOperation): Promise<void> {
    const update = operation.item.Update;
    if (!update) throw new Error('VersionedWrites.send takes an update');
    try {
      await client.send(new UpdateCommand(update as ConstructorParameters<typeof UpdateCommand>[0]));
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw (operation.onConditionFailed ?? this.onMismatch)();
      throw error;
    }
  }
}
