import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { stripInternal } from '../dynamo/items.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { queryAll } from '../dynamo/pagination.js';
import { mustExist, type TransactOperation, type TransactionPart, transactWrite } from '../dynamo/transactions.js';
import { VersionedWrites } from '../dynamo/versioned-writes.js';
import type { Category } from './taxonomy.entity.js';

const categoryNotFound = (categoryId: string) =>
  unprocessable(ErrorCode.CategoryNotFound, `Category ${categoryId} does not exist.`, { invalidIds: [categoryId] });

export type CategoryChanges = Partial<
  Pick<Category, 'name' | 'slug' | 'description' | 'color' | 'icon' | 'sortOrder'>
> & {
  /** `null` moves the category to the top level. */
  parentId?: string | null;
};

@Injectable()
export class CategoriesRepository {
  private readonly versioned: VersionedWrites;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.versioned = new VersionedWrites(tableName, () => versionMismatch('category'));
  }

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

  /** Creates the category with the caller's parts (its slug's claim), on condition that the parent (if any) exists. */
  async create(category: Category, ...parts: TransactionPart[]): Promise<void> {
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
      ...parts,
      ...(category.parentId ? [this.parentExists(category.parentId)] : []),
    ]);
  }

  /**
   * Applies changes on condition of the version, with the caller's parts (a slug swap); a new
   * parent must exist and be unchanged since the cycle check read it.
   */
  async update(
    current: Category,
    changes: CategoryChanges,
    newParent?: Category,
    ...parts: TransactionPart[]
  ): Promise<void> {
    const set: Record<string, unknown> = { updatedAt: this.clock.now().toISOString() };
    for (const [field, value] of Object.entries(changes)) if (value !== undefined && value !== null) set[field] = value;
    const remove = changes.parentId === null ? ['parentId'] : [];
    await transactWrite(this.db, [
      this.versioned.update(Keys.category(current.id), { set, remove }, current.version),
      ...parts,
      ...(newParent ? [this.versioned.unchanged(Keys.category(newParent.id), newParent.version)] : []),
    ]);
  }

  /**
   * Deletes the category with the caller's parts (its slug's release); its children move to
   * `newParentId` (or the top level).
   */
  async delete(
    current: Category,
    children: Category[],
    newParentId: string | undefined,
    ...parts: TransactionPart[]
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    await transactWrite(this.db, [
      this.versioned.delete(Keys.category(current.id), current.version, { whileZero: 'postCount' }),
      ...parts,
      ...children.map((child) => this.reparent(child, newParentId, at)),
      ...(newParentId ? [this.parentExists(newParentId)] : []),
    ]);
  }

  /** For `PostLinkWrites`: a transaction check that the category exists (422 with its id otherwise). */
  existenceCheck(categoryId: string): TransactOperation {
    return mustExist(this.tableName, Keys.category(categoryId), () => categoryNotFound(categoryId));
  }

  /** For `PostLinkWrites`: the change of a category's post count, inside its transaction. */
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
      onConditionFailed: () => categoryNotFound(categoryId),
    };
  }

  private reparent(child: Category, parentId: string | undefined, at: string): TransactOperation {
    return this.versioned.update(
      Keys.category(child.id),
      parentId ? { set: { parentId, updatedAt: at } } : { set: { updatedAt: at }, remove: ['parentId'] },
      child.version,
    );
  }

  private parentExists(parentId: string): TransactOperation {
    return mustExist(this.tableName, Keys.category(parentId), () =>
      unprocessable(ErrorCode.UnknownParent, `Category ${parentId} does not exist.`, { invalidIds: [parentId] }),
    );
  }
}
