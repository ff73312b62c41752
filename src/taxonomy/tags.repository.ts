import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { batchGetAll } from '../dynamo/batch.js';
import type { CursorCodec } from '../dynamo/cursor.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { stripInternal } from '../dynamo/items.js';
import { ENTITY, Keys, TagIndexKeys } from '../dynamo/keys.js';
import { countAll, type Page, queryIndexPage } from '../dynamo/pagination.js';
import { mustExist, type TransactOperation, type TransactionPart, transactWrite } from '../dynamo/transactions.js';
import { VersionedWrites } from '../dynamo/versioned-writes.js';
import type { Tag } from './taxonomy.entity.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';

const tagNotFound = (tagId: string) =>
  unprocessable(ErrorCode.TagNotFound, `Tag ${tagId} does not exist.`, { invalidIds: [tagId] });

export type TagChanges = Partial<Pick<Tag, 'name' | 'slug' | 'description' | 'color'>>;

@Injectable()
export class TagsRepository {
  private readonly versioned: VersionedWrites;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.versioned = new VersionedWrites(tableName, () => versionMismatch('tag'));
  }

  /** Creates the tag with the caller's parts (its slug's claim) in one transaction. */
  async create(tag: Tag, ...parts: TransactionPart[]): Promise<void> {
    await transactWrite(this.db, [
      {
        item: {
          Put: {
            TableName: this.tableName,
            Item: {
              ...Keys.tag(tag.id),
              ...TagIndexKeys.byName(tag),
              ...TagIndexKeys.byCount(tag.postCount),
              entity: ENTITY.Tag,
              ...tag,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      },
      ...parts,
    ]);
  }

  async findById(tagId: string): Promise<Tag | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.tag(tagId), ConsistentRead: true }),
    );
    return result.Item ? stripInternal<Tag>(result.Item) : undefined;
  }

  /** Several tags in one BatchGetItem (for post summaries and tag validation). */
  async findMany(tagIds: string[]): Promise<Tag[]> {
    if (tagIds.length === 0) return [];
    const items = await batchGetAll(
      this.db,
      this.tableName,
      tagIds.map((id) => Keys.tag(id)),
    );
    return items.map((item) => stripInternal<Tag>(item));
  }

  /**
   * Renames (rewriting the name index key), on condition of the version, with the caller's
   * parts (a slug swap) in the same transaction.
   */
  async update(current: Tag, changes: TagChanges, ...parts: TransactionPart[]): Promise<void> {
    const renamed = changes.name !== undefined && changes.name !== current.name;
    await transactWrite(this.db, [
      this.versioned.update(
        Keys.tag(current.id),
        {
          set: {
            ...changes,
            updatedAt: this.clock.now().toISOString(),
            ...(renamed ? TagIndexKeys.byName({ id: current.id, name: changes.name! }) : {}),
          },
          allowIndexAttributes: renamed,
        },
        current.version,
      ),
      ...parts,
    ]);
  }

  /** Deletes an unused tag with the caller's parts (its slug's release); a tag on published posts stays (412). */
  async delete(current: Tag, ...parts: TransactionPart[]): Promise<void> {
    await transactWrite(this.db, [
      this.versioned.delete(Keys.tag(current.id), current.version, { whileZero: 'postCount' }),
      ...parts,
    ]);
  }

  /** A page of tags by name (A-Z) or by post count (most used first): one index Query. */
  async list(cursors: CursorCodec, sort: 'name' | 'popular', limit: number, cursor?: string): Promise<Page<Tag>> {
    const page = await queryIndexPage(this.db, cursors, {
      tableName: this.tableName,
      index: sort === 'name' ? INDEX_PATTERNS.tagsByName.index : INDEX_PATTERNS.tagsByPostCount.index,
      partition: TagIndexKeys.partition,
      ascending: sort === 'name',
      limit,
      cursor,
    });
    return { items: page.items.map((item) => stripInternal<Tag>(item)), nextCursor: page.nextCursor };
  }

  /** For `PostLinkWrites`: a transaction check that the tag exists (422 with its id otherwise). */
  existenceCheck(tagId: string): TransactOperation {
    return mustExist(this.tableName, Keys.tag(tagId), () => tagNotFound(tagId));
  }

  /**
   * For `PostLinkWrites`: the change of a tag's post count inside the transaction that links
   * or unlinks a published post. `ADD` on the count and on its numeric index key keeps both
   * exact under any concurrency; a missing tag fails the transaction (422 with its id).
   */
  postCountChange(tagId: string, delta: number): TransactOperation {
    return {
      item: {
        Update: {
          TableName: this.tableName,
          Key: Keys.tag(tagId),
          UpdateExpression: 'ADD postCount :delta, GSI5SK :delta',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':delta': delta },
        },
      },
      onConditionFailed: () => tagNotFound(tagId),
    };
  }

  /** Counts a tag's post links with a COUNT Query (consistency checks, not request paths). */
  async countLinks(tagId: string): Promise<number> {
    return countAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': Keys.tagPartition(tagId), ':prefix': Keys.postLinkPrefix },
      ConsistentRead: true,
    });
  }
}
