import { Inject, Injectable } from '@nestjs/common';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { batchGetAll } from '../dynamo/batch.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { buildStateUpdate } from '../dynamo/expressions.js';
import { stripInternal } from '../dynamo/items.js';
import { CommentIndexKeys, ENTITY, type ItemKey, Keys } from '../dynamo/keys.js';
import { type Page, queryIndexPage } from '../dynamo/pagination.js';
import { queryShardedIndexPage } from '../dynamo/sharded-page.js';
import { writeCountedMarker } from '../dynamo/counted-markers.js';
import { type TransactOperation, transactWrite, wasCanceled } from '../dynamo/transactions.js';
import { VersionedWrites } from '../dynamo/versioned-writes.js';
import { PostWriteParts } from '../posts/post-write-parts.js';
import type { Viewer } from '../posts/post-rules.js';
import { type Comment, isCounted } from './comment.entity.js';
import { commentCountDelta } from './comment-rules.js';
import { AUTHOR_DISPLAY_FIELDS, type AuthorDisplay, authorDisplayUpdate } from '../identity/author-display.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';

type Item = Record<string, NativeAttributeValue>;

const COMMENT_INDEX_ATTRIBUTES = ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK'];

const stale = () => versionMismatch('comment');
export const unknownParent = (parentId: string) =>
  unprocessable(ErrorCode.UnknownParentComment, `Comment ${parentId} is not on this post.`, {
    invalidIds: [parentId],
  });

/** The path of the comment a reply is attached to (its path without the last segment). */
const parentPathOf = (comment: Comment): string | undefined =>
  comment.depth > 1 ? comment.path.slice(0, comment.path.lastIndexOf('/')) : undefined;

/**
 * Index keys of the comment item: only pending ones, queued for moderation. (Comments made before
 * migration 0004 also carried GSI2 and GSI3 keys, projecting the whole comment: any save removes them.)
 */
function indexKeysOf(comment: Comment): Record<string, string> {
  if (comment.deleted || !comment.authorId) return {};
  return comment.status === 'pending' ? CommentIndexKeys.moderation(comment) : {};
}

/**
 * Index keys of the comment's pointer: every authored comment is listed under its author on GSI6
 * by status (the public listing of approved ones, anonymisation and export of all), on the small
 * pointer item so that the entry is about 200 bytes, not a copy of the comment.
 */
function pointerIndexKeysOf(comment: Comment): Record<string, string> {
  if (comment.deleted || !comment.authorId) return {};
  return CommentIndexKeys.commenter({ ...comment, authorId: comment.authorId });
}

const POINTER_INDEX_ATTRIBUTES = ['GSI6PK', 'GSI6SK'];

/** A comment pointer whose comment was not found, and the key of that comment. */
export interface OrphanPointer {
  pointerKey: ItemKey;
  commentKey: ItemKey;
}

/** A page of a commenter's comments, and the pointers on it whose comment is missing. */
export interface CommenterPage extends Page<Comment> {
  orphanPointers: OrphanPointer[];
}

/** Who sees what in a thread (see CommentsService). */
export interface ThreadViewer {
  userId?: string;
  staff: boolean;
}

/**
 * Comments live in their post's partition, keyed by thread path, so one Query reads a page of
 * the thread in display order. `commentCount` on the post changes in the same transaction as
 * anything that makes a comment start or stop counting (approved and not deleted). Every write
 * under a post carries the posts module's guard that the post is still there (a new comment: the
 * counter item's deletion tombstone; the other writes: the summary's existence), and changes its
 * count only through the posts module's part (`PostWriteParts`).
 */
@Injectable()
export class CommentsRepository {
  private readonly versioned: VersionedWrites;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly cursors: CursorCodec,
    private readonly posts: PostWriteParts,
  ) {
    this.versioned = new VersionedWrites(tableName, stale);
  }

  /**
   * Creates the comment and its id pointer (the service checked that the post is live), on
   * condition that the post was not deleted meanwhile (a tombstone where it is counted); counts it
   * if approved, on the post's counter item, or on its comment counter shard when the post is `hot`
   * (src/posts/comment-shards.ts). A reply also adds one to its parent's `replyCount`, on condition
   * that the parent still exists: a parent deleted meanwhile makes it `422 unknown_parent_comment`,
   * never an orphan.
   */
  async create(comment: Comment, requestedParentId?: string, hot = false): Promise<void> {
    const parentPath = parentPathOf(comment);
    const parentOperation: TransactOperation[] = parentPath
      ? [
          {
            ...this.replyCountChange(comment, parentPath, 1),
            onConditionFailed: () => unknownParent(requestedParentId ?? comment.parentId ?? ''),
          },
        ]
      : [];
    // The pointer goes first, on its own (1 WCU and its GSI6 entry, not doubled by the
    // transaction): a pointer whose comment never came is harmless (every read goes on to the
    // comment and finds none). It is removed at once when DynamoDB cancelled the transaction;
    // after an unknown outcome (a timeout: the comment may have committed) it stays, and a
    // pointer left without its comment is removed by the author's erasure (`removeOrphanPointer`).
    const pointer = Keys.commentPointer(comment.postId, comment.id);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...pointer, entity: ENTITY.CommentPointer, path: comment.path, ...pointerIndexKeysOf(comment) },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    try {
      await transactWrite(this.db, [
        ...parentOperation,
        {
          item: {
            Put: {
              TableName: this.tableName,
              Item: {
                ...Keys.comment(comment.postId, comment.path),
                entity: ENTITY.Comment,
                ...comment,
                ...indexKeysOf(comment),
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
        },
        // The service checked that the post is live; the counter item's tombstone (its deletion's,
        // kept an hour), or the shard's (the deletion's cascade puts them first), stops a comment
        // racing the deletion. No ConditionCheck of the summary: it would write 2 more WCU in the
        // post's partition per comment (issue 15: 200 comments/s on one post), for a create whose
        // read and write are over an hour apart (docs/data-model.md).
        this.posts.newCommentCount(comment.postId, comment.id, isCounted(comment) ? 1 : 0, hot),
      ]);
    } catch (error) {
      if (wasCanceled(error))
        await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: pointer })).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The stream processor's fan-out of an author's new name onto one of their comments, only over
   * an older copy and while the comment is still theirs; false when the condition left it as it was.
   */
  async setAuthorDisplay(comment: Comment, display: AuthorDisplay): Promise<boolean> {
    if (!comment.authorId) return false;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.comment(comment.postId, comment.path),
          ...authorDisplayUpdate(display, { authorId: comment.authorId }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** A comment by id: the pointer, then the comment (both strongly consistent). */
  async findById(postId: string, commentId: string): Promise<Comment | undefined> {
    const pointer = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.commentPointer(postId, commentId), ConsistentRead: true }),
    );
    return pointer.Item ? this.findAtPath(postId, pointer.Item.path as string) : undefined;
  }

  /** A comment by its place in the thread (its sort key's path), strongly consistent: one GetItem. */
  async findAtPath(postId: string, path: string): Promise<Comment | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.comment(postId, path), ConsistentRead: true }),
    );
    return result.Item ? stripInternal<Comment>(result.Item) : undefined;
  }

  /** True when the comment has at least one reply (a one-item Query under its path). */
  async hasReplies(comment: Comment): Promise<boolean> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: {
          ':pk': Keys.postPartition(comment.postId),
          ':prefix': `${Keys.comment(comment.postId, comment.path).SK}/`,
        },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).length > 0;
  }

  /**
   * Saves a new state of the comment on condition of its version; moves the index keys with
   * the status and changes the post's `commentCount` when the comment starts or stops counting.
   */
  async save(before: Comment, after: Comment): Promise<void> {
    await transactWrite(this.db, [
      this.versioned.apply(
        Keys.comment(before.postId, before.path),
        buildStateUpdate(
          before,
          after,
          {
            // The author's name is the fan-out's to write, unless the comment loses its author.
            keep: [
              'id',
              'postId',
              'path',
              'likeCount',
              'replyCount',
              'countedOnParentPointer',
              ...(after.authorId === before.authorId ? AUTHOR_DISPLAY_FIELDS : []),
            ],
            indexKeys: indexKeysOf(after),
            indexAttributes: COMMENT_INDEX_ATTRIBUTES,
          },
          before.version,
        ),
      ),
      ...this.pointerChange(before, after),
      ...this.countChange(before, after),
      this.posts.liveGuard(before.postId),
    ]);
  }

  /**
   * `ADD replyCount <delta>` on the item that counts a reply: its parent's pointer for a reply made
   * while the post was hot (`countedOnParentPointer`: outside the post's partition, which then takes
   * only the reply itself), else the parent, as before. A new reply's is conditioned on the parent
   * being there and not deleted; on the pointer, through its GSI6 keys, which it carries exactly
   * while its comment is not deleted (`pointerIndexKeysOf`, changed in the comment's transaction).
   */
  private replyCountChange(reply: Comment, parentPath: string, delta: 1 | -1): TransactOperation {
    const onPointer = reply.countedOnParentPointer === true && reply.parentId !== undefined;
    const condition =
      delta < 0
        ? 'attribute_exists(PK)'
        : onPointer
          ? `attribute_exists(PK) AND attribute_exists(${POINTER_INDEX_ATTRIBUTES[0]})`
          : 'attribute_exists(PK) AND deleted = :false';
    return {
      item: {
        Update: {
          TableName: this.tableName,
          Key: onPointer ? Keys.commentPointer(reply.postId, reply.parentId!) : Keys.comment(reply.postId, parentPath),
          UpdateExpression: 'ADD replyCount :delta',
          ConditionExpression: condition,
          ExpressionAttributeValues: { ':delta': delta, ...(onPointer || delta < 0 ? {} : { ':false': false }) },
        },
      },
    };
  }

  /** The pointer's GSI6 keys follow the comment's status, author and deletion (same transaction). */
  private pointerChange(before: Comment, after: Comment): TransactOperation[] {
    const keys = pointerIndexKeysOf(after);
    if (JSON.stringify(pointerIndexKeysOf(before)) === JSON.stringify(keys)) return [];
    const set = Object.keys(keys);
    return [
      {
        item: {
          Update: {
            TableName: this.tableName,
            Key: Keys.commentPointer(before.postId, before.id),
            UpdateExpression:
              set.length > 0
                ? `SET ${set.map((name) => `${name} = :${name}`).join(', ')}`
                : `REMOVE ${POINTER_INDEX_ATTRIBUTES.join(', ')}`,
            ConditionExpression: 'attribute_exists(PK)',
            ...(set.length > 0
              ? { ExpressionAttributeValues: Object.fromEntries(set.map((name) => [`:${name}`, keys[name]])) }
              : {}),
          },
        },
        onConditionFailed: stale,
      },
    ];
  }

  /**
   * Deletes a comment without replies, its pointer and its count, in one transaction, on
   * condition of its version and of no reply having arrived (`replyCount`); the parent's
   * `replyCount` goes down with it. A failed condition is `412`: the caller reads again.
   */
  async delete(before: Comment): Promise<void> {
    const parentPath = parentPathOf(before);
    await transactWrite(this.db, [
      this.versioned.delete(Keys.comment(before.postId, before.path), before.version, {
        also: { expression: '(attribute_not_exists(replyCount) OR replyCount <= :none)', values: { ':none': 0 } },
      }),
      // The pointer holds the replies counted there while the post was hot: none may have arrived.
      {
        item: {
          Delete: {
            TableName: this.tableName,
            Key: Keys.commentPointer(before.postId, before.id),
            ConditionExpression: 'attribute_not_exists(replyCount) OR replyCount <= :none',
            ExpressionAttributeValues: { ':none': 0 },
          },
        },
        onConditionFailed: stale,
      },
      ...(parentPath ? [this.replyCountChange(before, parentPath, -1)] : []),
      ...this.countChange(before, undefined),
      this.posts.liveGuard(before.postId),
    ]);
  }

  /** One page of the thread in display order: one Query, filtered to what the viewer may see. */
  async thread(postId: string, viewer: ThreadViewer, limit: number, cursor?: string): Promise<Page<Comment>> {
    const scope = `thread|${postId}`;
    const visibility = viewer.staff
      ? {}
      : {
          FilterExpression: viewer.userId
            ? '#status = :approved OR deleted = :true OR authorId = :me'
            : '#status = :approved OR deleted = :true',
          ExpressionAttributeNames: { '#status': 'status' },
        };
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ...visibility,
        ExpressionAttributeValues: {
          ':pk': Keys.postPartition(postId),
          ':prefix': Keys.commentPrefix,
          ...(viewer.staff
            ? {}
            : { ':approved': 'approved', ':true': true, ...(viewer.userId ? { ':me': viewer.userId } : {}) }),
        },
        Limit: limit,
        ExclusiveStartKey: this.cursors.decode(cursor, scope),
      }),
    );
    return {
      items: (result.Items ?? []).map((item: Item) => stripInternal<Comment>(item)),
      nextCursor: this.cursors.encode(result.LastEvaluatedKey, scope),
    };
  }

  /**
   * The moderation queue, oldest first (the sparse GSI1 holds only pending comments): its shards
   * (by comment id) merged into one page, one Query each in one round trip.
   */
  async pending(limit: number, cursor?: string): Promise<Page<Comment>> {
    const page = await queryShardedIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index: INDEX_PATTERNS.moderationQueue.index,
      base: CommentIndexKeys.moderationBase,
      ascending: true,
      limit,
      cursor,
    });
    return { items: page.items.map((item) => stripInternal<Comment>(item)), nextCursor: page.nextCursor };
  }

  /** A user's approved comments, newest first: a Query of GSI6, then the comments themselves. */
  async byAuthor(userId: string, limit: number, cursor?: string): Promise<Page<Comment>> {
    const page = await this.commenterPage(userId, CommentIndexKeys.commenterApprovedPrefix, limit, cursor);
    return { ...page, items: page.items.filter((comment) => comment.status === 'approved' && !comment.deleted) };
  }

  /**
   * Every comment of an author in any status, a page at a time: for anonymisation and the export;
   * with the pointers on the page whose comment was not found (see `removeOrphanPointer`).
   */
  allByAuthor(userId: string, limit: number, cursor?: string): Promise<CommenterPage> {
    return this.commenterPage(userId, undefined, limit, cursor);
  }

  /**
   * Deletes a pointer whose comment does not exist (a create that crashed, or whose transaction
   * failed after an unknown outcome), on condition, in the same transaction, that the comment
   * still does not exist: a comment that did commit keeps its pointer. False when it exists.
   */
  async removeOrphanPointer(orphan: OrphanPointer): Promise<boolean> {
    try {
      await transactWrite(this.db, [
        {
          item: {
            ConditionCheck: {
              TableName: this.tableName,
              Key: orphan.commentKey,
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
        },
        { item: { Delete: { TableName: this.tableName, Key: orphan.pointerKey } } },
      ]);
      return true;
    } catch (error) {
      if (wasCanceled(error)) return false;
      throw error;
    }
  }

  /**
   * A page of a commenter's pointers on GSI6 (each projects its comment's path), then one
   * BatchGetItem of the comments, in the index's order. An entry whose comment is gone (deleted
   * meanwhile, or a pointer whose transaction failed) is skipped.
   */
  private async commenterPage(
    userId: string,
    sortKeyPrefix: string | undefined,
    limit: number,
    cursor: string | undefined,
  ): Promise<CommenterPage> {
    const page = await queryIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index: INDEX_PATTERNS.commenterComments.index,
      partition: CommentIndexKeys.commenterPartition(userId),
      sortKeyPrefix,
      limit,
      cursor,
    });
    const pointers = page.items.map((pointer) => ({
      pointerKey: { PK: pointer.PK as string, SK: pointer.SK as string },
      commentKey: Keys.comment(Keys.postOfCommentPointer(pointer.PK as string), pointer.path as string),
    }));
    const found = await batchGetAll(
      this.db,
      this.tableName,
      pointers.map((pointer) => pointer.commentKey),
    );
    const byKey = new Map(found.map((item) => [`${String(item.PK)}|${String(item.SK)}`, item]));
    const comment = (pointer: OrphanPointer) => byKey.get(`${pointer.commentKey.PK}|${pointer.commentKey.SK}`);
    return {
      items: pointers.flatMap((pointer) => {
        const item = comment(pointer);
        return item ? [stripInternal<Comment>(item)] : [];
      }),
      orphanPointers: pointers.filter((pointer) => !comment(pointer)),
      nextCursor: page.nextCursor,
    };
  }

  /** A page of a user's comment likes (GSI2), as `{ postId, commentId }`. */
  async likesBy(userId: string, limit: number, cursor?: string): Promise<Page<{ postId: string; commentId: string }>> {
    const page = await queryIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index: INDEX_PATTERNS.commentLikesBy.index,
      partition: CommentIndexKeys.likesPartition(userId),
      limit,
      cursor,
    });
    return {
      items: page.items.map((item) => ({ postId: item.postId as string, commentId: item.commentId as string })),
      nextCursor: page.nextCursor,
    };
  }

  /** Likes a comment once (like item + `likeCount + 1`, one transaction); false if already liked. */
  /** `viewer`'s like at `now`, on a post they may see (its author and staff see a withdrawn one). */
  async addLike(comment: Comment, viewer: Viewer, now: string): Promise<boolean> {
    return this.likeTransaction(comment, viewer.userId, 1, this.posts.visibleGuard(comment.postId, viewer, now), now);
  }

  /**
   * An unlike: `seenBy`'s, under the same rule as a like; without it (an account's clean-up), the
   * post need only exist.
   */
  async removeLike(comment: Comment, userId: string, seenBy?: { viewer: Viewer; now: string }): Promise<boolean> {
    const guard = seenBy
      ? this.posts.visibleGuard(comment.postId, seenBy.viewer, seenBy.now)
      : this.posts.liveGuard(comment.postId);
    return this.likeTransaction(comment, userId, -1, guard);
  }

  private likeTransaction(
    comment: Comment,
    userId: string,
    delta: 1 | -1,
    postGuard: TransactOperation,
    now?: string,
  ): Promise<boolean> {
    const key = Keys.commentLike(comment.postId, comment.id, userId);
    return writeCountedMarker(
      this.db,
      delta > 0
        ? {
            Put: {
              TableName: this.tableName,
              Item: {
                ...key,
                ...CommentIndexKeys.like(userId, now!, comment.id),
                entity: ENTITY.CommentLike,
                postId: comment.postId,
                commentId: comment.id,
                userId,
                likedAt: now,
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          }
        : { Delete: { TableName: this.tableName, Key: key, ConditionExpression: 'attribute_exists(PK)' } },
      {
        Update: {
          TableName: this.tableName,
          Key: Keys.comment(comment.postId, comment.path),
          UpdateExpression: 'ADD likeCount :delta',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':delta': delta },
        },
      },
      undefined,
      [postGuard],
    );
  }

  private countChange(before: Comment | undefined, after: Comment | undefined): TransactOperation[] {
    const delta = commentCountDelta(before, after);
    if (delta === 0) return [];
    const postId = (before ?? after)!.postId;
    return [this.posts.commentCountChange(postId, delta)];
  }
}
