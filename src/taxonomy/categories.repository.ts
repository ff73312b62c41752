import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { preconditionFailed, unprocessable } from '../common/errors/domain-error.js';
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

/** Every category, and the version of the tree item read before them (0: the table has none yet). */
export interface CategoryTreeRead {
  version: number;
  categories: Category[];
}

/** A tree change that lost the race on the tree's version (412 `version_mismatch`: read again, retry). */
export const treeChanged = () =>
  preconditionFailed(
    ErrorCode.VersionMismatch,
    'Another change to the category tree (a creation under a parent, a move or a deletion) landed first; retry.',
  );

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

  /**
   * The tree as one tree change must judge it: the tree item's version first (a strongly consistent
   * GetItem), then every category. A change that commits on condition of that version (`treeBump`)
   * knows that no other tree change committed since the categories were read: a transaction that
   * bumped the version before the GetItem is visible to the Query after it.
   */
  async tree(): Promise<CategoryTreeRead> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.categoryTree(), ConsistentRead: true }),
    );
    const version = typeof result.Item?.version === 'number' ? result.Item.version : 0;
    return { version, categories: await this.all() };
  }

  async findById(categoryId: string): Promise<Category | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.category(categoryId), ConsistentRead: true }),
    );
    return result.Item ? stripInternal<Category>(result.Item) : undefined;
  }

  /**
   * Creates the category with the caller's parts (its slug's claim), on condition that the parent
   * (if any) exists and, under a parent, that the tree is still at `treeVersion` (bumped).
   */
  async create(category: Category, treeVersion: number | undefined, ...parts: TransactionPart[]): Promise<void> {
    await transactWrite(this.db, [
      ...(category.parentId && treeVersion !== undefined ? [this.treeBump(treeVersion)] : []),
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
    ]);
  }

  /**
   * Applies changes on condition of the version, with the caller's parts (a slug swap); a move
   * (`treeVersion` given) also requires the tree to be as the cycle check read it, and bumps it.
   */
  async update(
    current: Category,
    changes: CategoryChanges,
    treeVersion?: number,
    ...parts: TransactionPart[]
  ): Promise<void> {
    const set: Record<string, unknown> = { updatedAt: this.clock.now().toISOString() };
    for (const [field, value] of Object.entries(changes)) if (value !== undefined && value !== null) set[field] = value;
    const remove = changes.parentId === null ? ['parentId'] : [];
    await transactWrite(this.db, [
      ...(treeVersion !== undefined ? [this.treeBump(treeVersion)] : []),
      this.versioned.update(Keys.category(current.id), { set, remove }, current.version),
      ...parts,
    ]);
  }

  /**
   * Deletes the category with the caller's parts (its slug's release); its children move to
   * `newParentId` (or the top level); on condition that the tree is still at `treeVersion` (bumped),
   * so the children and `newParentId`'s place are those the caller read.
   */
  async delete(
    current: Category,
    children: Category[],
    newParentId: string | undefined,
    treeVersion: number,
    ...parts: TransactionPart[]
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    await transactWrite(this.db, [
      this.treeBump(treeVersion),
      this.versioned.delete(Keys.category(current.id), current.version, { whileZero: 'postCount' }),
      ...parts,
      ...children.map((child) => this.reparent(child, newParentId, at)),
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

  /**
   * The tree item to `version + 1`, on condition that it is at `version` (a table without the item
   * yet: on condition that there is none, so two first changes cannot both create it). One item of
   * every tree change's transaction: any two tree changes serialise on it.
   */
  private treeBump(version: number): TransactOperation {
    return {
      item: {
        Update: {
          TableName: this.tableName,
          Key: Keys.categoryTree(),
          UpdateExpression: 'SET version = :next, entity = :entity, updatedAt = :at',
          ConditionExpression: version === 0 ? 'attribute_not_exists(PK)' : 'version = :v',
          ExpressionAttributeValues: {
            ':next': version + 1,
            ':entity': ENTITY.CategoryTree,
            ':at': this.clock.now().toISOString(),
            ...(version === 0 ? {} : { ':v': version }),
          },
        },
      },
      onConditionFailed: treeChanged,
    };
  }

  private reparent(child: Category, parentId: string | undefined, at: string): TransactOperation {
    return this.versioned.update(
      Keys.category(child.id),
      parentId ? { set: { parentId, updatedAt: at } } : { set: { updatedAt: at }, remove: ['parentId'] },
      child.version,
    );
  }
}
