import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { preconditionFailed, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { SlugService } from '../common/slugs/slug.service.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { buildVersionedUpdate } from '../dynamo/expressions.js';
import { stripInternal } from '../dynamo/items.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { queryAll } from '../dynamo/pagination.js';
import { type TransactItem, type TransactOperation, transactWrite } from '../dynamo/transactions.js';
import type { Category } from './taxonomy.entity.js';

const versionMismatch = () =>
  preconditionFailed(ErrorCode.VersionMismatch, 'The category changed since you read it; fetch it again.');

export type CategoryChanges = Partial<
  Pick<Category, 'name' | 'slug' | 'description' | 'color' | 'icon' | 'sortOrder'>
> & {
  /** `null` moves the category to the top level. */
  parentId?: string | null;
};

@Injectable()
export class CategoriesRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Every category, with one consistent Query of the categories partition. */
  async all(): Promise<Category[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': Keys.categoriesPartition, ':prefix': Keys.categoryPrefix },
      ConsistentRead: true,
    });
    return items.map((item) => stripInternal<Category>(item));
  }

  async findById(categoryId: string): Promise<Category | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.category(categoryId), ConsistentRead: true }),
    );
    return result.Item ? stripInternal<Category>(result.Item) : undefined;
  }

  /** Creates the category with its slug, on condition that the parent (if any) exists. */
  async create(category: Category, slugs: SlugService): Promise<void> {
    await transactWrite(this.db, [
      {
        item: {
          Put: {
            TableName: this.tableName,
            Item: { ...Keys.category(category.id), entity: ENTITY.Category, ...category },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      },
      slugs.claim('category', category.slug, category.id),
      ...(category.parentId ? [this.parentExists(category.parentId)] : []),
    ]);
  }

  /**
   * Applies changes on condition of the version; a new slug swaps the uniqueness items, a new
   * parent must exist and be unchanged since the cycle check read it.
   */
  async update(current: Category, changes: CategoryChanges, slugs: SlugService, newParent?: Category): Promise<void> {
    const set: Record<string, unknown> = { updatedAt: this.clock.now().toISOString() };
    for (const [field, value] of Object.entries(changes)) if (value !== undefined && value !== null) set[field] = value;
    const remove = changes.parentId === null ? ['parentId'] : [];
    const operations: TransactOperation[] = [
      {
        item: {
          Update: {
            TableName: this.tableName,
            Key: Keys.category(current.id),
            ...buildVersionedUpdate(
              {
                set,
                remove,
              },
              current.version,
            ),
          },
        },
        onConditionFailed: versionMismatch,
      },
    ];
    const slugChanged = Boolean(changes.slug) && changes.slug !== current.slug;
    if (changes.slug && slugChanged) {
      operations.push(
        slugs.release('category', current.slug, current.id),
        slugs.claim('category', changes.slug, current.id),
      );
    }
    if (newParent) operations.push(this.parentUnchanged(newParent));
    await transactWrite(this.db, operations);
    if (slugChanged) slugs.forget('category', current.slug);
  }

  /** Deletes the category and its slug; its children move to `newParentId` (or the top level). */
  async delete(
    current: Category,
    children: Category[],
    newParentId: string | undefined,
    slugs: SlugService,
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    await transactWrite(this.db, [
      {
        item: {
          Delete: {
            TableName: this.tableName,
            Key: Keys.category(current.id),
            ConditionExpression: 'version = :v AND postCount = :zero',
            ExpressionAttributeValues: { ':v': current.version, ':zero': 0 },
          },
        },
        onConditionFailed: versionMismatch,
      },
      slugs.release('category', current.slug, current.id),
      ...children.map((child) => this.reparent(child, newParentId, at)),
      ...(newParentId ? [this.parentExists(newParentId)] : []),
    ]);
    slugs.forget('category', current.slug);
  }

  /** For the posts module: a transaction check that the category exists (422 with its id otherwise). */
  existenceCheck(categoryId: string): TransactOperation {
    return {
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: Keys.category(categoryId),
          ConditionExpression: 'attribute_exists(PK)',
        },
      },
      onConditionFailed: () =>
        unprocessable(ErrorCode.CategoryNotFound, `Category ${categoryId} does not exist.`, {
          invalidIds: [categoryId],
        }),
    };
  }

  /** For the posts module: the change of a category's post count, inside its transaction. */
  postCountChange(categoryId: string, delta: number): TransactOperation {
    return {
      item: {
        Update: {
          TableName: this.tableName,
          Key: Keys.category(categoryId),
          UpdateExpression: 'ADD postCount :delta',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':delta': delta },
        },
      },
      onConditionFailed: () =>
        unprocessable(ErrorCode.CategoryNotFound, `Category ${categoryId} does not exist.`, {
          invalidIds: [categoryId],
        }),
    };
  }

  private reparent(child: Category, parentId: string | undefined, at: string): TransactOperation {
    const update = buildVersionedUpdate(
      parentId ? { set: { parentId, updatedAt: at } } : { set: { updatedAt: at }, remove: ['parentId'] },
      child.version,
    );
    return {
      item: { Update: { TableName: this.tableName, Key: Keys.category(child.id), ...update } },
      onConditionFailed: versionMismatch,
    };
  }

  private parentExists(parentId: string): TransactOperation {
    const item: TransactItem = {
      ConditionCheck: {
        TableName: this.tableName,
        Key: Keys.category(parentId),
        ConditionExpression: 'attribute_exists(PK)',
      },
    };
    return {
      item,
      onConditionFailed: () =>
        unprocessable(ErrorCode.UnknownParent, `Category ${parentId} does not exist.`, { invalidIds: [parentId] }),
    };
  }

  /** The new parent is still where the cycle check saw it (no concurrent move made a loop). */
  private parentUnchanged(parent: Category): TransactOperation {
    return {
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: Keys.category(parent.id),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': parent.version },
        },
      },
      onConditionFailed: versionMismatch,
    };
  }
}
