import { Inject, Injectable } from '@nestjs/common';
import {
  type DynamoDBDocumentClient,
  DeleteCommand,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { versionMismatch } from '../common/errors/version-mismatch.js';
import { serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { batchGetAll, batchWriteAll, chunk, deletePartition } from '../dynamo/batch.js';
import { CursorCodec, type LastEvaluatedKey } from '../dynamo/cursor.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { type BuiltUpdate, buildStateUpdate, epochSeconds, projectionOf } from '../dynamo/expressions.js';
import { stripInternal } from '../dynamo/items.js';
import { ENTITY, feedBucket, Keys, OwnedIndexKeys, PostIndexKeys, type ItemKey } from '../dynamo/keys.js';
import { countAll, type Page, queryAll, queryIndexPage } from '../dynamo/pagination.js';
import { GSI, type GsiName } from '../dynamo/table.definition.js';
import { writeCountedMarker } from '../dynamo/counted-markers.js';
import {
  pickShard,
  shardIncrement,
  type ShardSnapshot,
  shardTombstones,
  FOLD_MAX_SNAPSHOTS,
  snapshotFoldUpdate,
  viewSnapshot,
} from './view-shards.js';
import { likeCursor, likeShardChange, likeShardTombstones, parseLikeCursor } from './like-shards.js';
import { commentShardTombstones } from './comment-shards.js';
import { LIKE_SHARDS } from '../dynamo/sharding.js';
import { summaryFromLink, toPostLinkItem } from './post-links.js';
import { HIDDEN_LIKE_PREFIX, isCountedPosition, likePosition } from './like-visibility.js';
import {
  countsOf,
  postCounterChange,
  postCountsTombstone,
  type PostCounts,
  tombstoneTtl,
  withCounts,
} from './post-counters.js';
import {
  countOf,
  LIKED_COUNT,
  likedCountChange,
  PUBLISHED_COUNT,
  publishedCountChanges,
} from './published-counters.js';
import { endOfDay } from './feed-days.js';
import {
  mustExist,
  type TransactOperation,
  type TransactionPart,
  transactWrite,
  wasCanceled,
} from '../dynamo/transactions.js';
import { VersionedWrites } from '../dynamo/versioned-writes.js';
import { type LinkablePost, PostLinkWrites } from '../taxonomy/post-link-writes.js';
import {
  type Post,
  type PostList,
  type PostSummary,
  type SkippedEntries,
  type StoredPostStatus,
  SUMMARY_ATTRIBUTES,
} from './post.entity.js';
import {
  AUTHOR_DISPLAY_FIELDS,
  type AuthorDisplay,
  authorDisplayUpdate,
  unchangedAuthorDisplay,
} from '../identity/author-display.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';

type Item = Record<string, NativeAttributeValue>;

/** Index attributes a summary may carry; those not set for its state are removed on update. */
const POST_INDEX_ATTRIBUTES = ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'GSI4PK', 'GSI4SK'];
/** Never written by a save: the id, and counters that change only through their own atomic ADDs. */
const IMMUTABLE_FIELDS = ['id', 'viewCount', 'likeCount', 'commentCount'];
/**
 * The save's condition also requires the author display copy it read: the links it rewrites copy
 * the summary, and must not put back a name the stream processor replaced meanwhile (a rename
 * racing an edit fails the save with `412`; `PostsService` then reads again and saves once more).
 */
function withAuthorDisplayUnchanged(before: PostSummary, update: BuiltUpdate): BuiltUpdate {
  const unchanged = unchangedAuthorDisplay(before);
  return {
    ...update,
    ConditionExpression: `${update.ConditionExpression} AND ${unchanged.expression}`,
    ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...unchanged.values },
  };
}

/** A like moved by someone else, or its post changed, since the sync read them. */
class PlaceChanged extends Error {}

/** Likes of a deleted post removed in parallel by the cascade (each a transaction with its user's count). */
const LIKE_REMOVALS_AT_ONCE = 10;
/** Rounds of an unlike's two attempts while the stream's sync moves the like under it (`removeLike`). */
const UNLIKE_ROUNDS = 3;

/** How many month buckets one page of the global feed may read (bounded cost per page). */
const MAX_BUCKETS_PER_PAGE = 3;

const inFeeds = (post: PostSummary | undefined): post is PostSummary & { publishedAt: string } =>
  post !== undefined && post.status === 'published' && post.publishedAt !== undefined;

/** Upper bound of sort keys `<publishedAt>#<id>` that are not in the future. */
const upTo = (now: string) => `${now}#~`;

/** A post as taxonomy links it: in the feeds (with its link items, copies of its summary) only while published. */
function linkable(post: PostSummary | undefined): LinkablePost | undefined {
  if (!post) return undefined;
  const feed = inFeeds(post)
    ? { publishedAt: post.publishedAt, linkItem: (key: ItemKey) => toPostLinkItem(key, post) }
    : undefined;
  return { id: post.id, tagIds: post.tagIds, categoryId: post.categoryId, feed };
}

function indexKeysOf(post: PostSummary): Record<string, string> {
  return { ...PostIndexKeys.own(post), ...(inFeeds(post) ? PostIndexKeys.published(post) : {}) };
}

/** The stored form of a post summary: its attributes plus its keys in every feed it belongs to. */
export function toPostSummaryItem(summary: PostSummary): Item {
  return { ...Keys.post(summary.id), entity: ENTITY.Post, ...summary, ...indexKeysOf(summary) };
}

/** The stored form of a user's like of a post (in one of the post's like shards, and in the user's likes on GSI2). */
export function toLikeItem(postId: string, userId: string, likedAt: string, countedOnPost = false): Item {
  return {
    ...Keys.like(postId, userId),
    ...PostIndexKeys.like(userId, likedAt, postId),
    entity: ENTITY.Like,
    postId,
    userId,
    likedAt,
    // Counted on the post's counter item, not on its like shard: its unlike takes it off there.
    ...(countedOnPost ? { countedOnPost: true } : {}),
  };
}

/** Where a like is counted (`countedOnPost`) and whether it is hidden, which decide how it is removed. */
interface LikeCounting {
  onPost: boolean;
  hidden: boolean;
}

function summaryOf(item: Item): PostSummary {
  return stripInternal<PostSummary>(item);
}

/**
 * What a feed Query asks for: the summary's own attributes. Its keys and four index keys are a
 * third of the answer's bytes (~11 KB of a page of 20), which the app would parse, convert and
 * strip again on every list read; a projection is billed as the whole entry, so RCU stay the same.
 */
const SUMMARY_PROJECTION = projectionOf(SUMMARY_ATTRIBUTES);
/** A summary read through `SUMMARY_PROJECTION`: nothing internal to strip. */
const projectedSummary = (item: Item): PostSummary => item as PostSummary;
/** What a feed Query of links asks for: the post's id and the link's copy of its summary. */
const LINK_PROJECTION = projectionOf(['postId', 'summary']);

export interface PostRead {
  post: Post;
  likedByViewer: boolean;
}

/** What decides whether a post is out (`isLive`). */
export type PublicationState = Pick<PostSummary, 'status' | 'publishedAt'>;

/** A summary as a like or a view reads it: the stored base and the counter item apart. */
export interface SummaryRead {
  summary: PostSummary;
  counts: PostCounts;
}

/**
 * Persistence of posts: the summary and content items, slugs, feed index keys, tag and
 * category links with their exact counts, likes and views. Every write that changes whether a
 * post is in a feed also changes the counts that depend on it, in the same transaction.
 */
@Injectable()
export class PostsRepository {
  private readonly versioned: VersionedWrites;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly links: PostLinkWrites,
    private readonly cursors: CursorCodec,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.versioned = new VersionedWrites(tableName, () => versionMismatch('post'));
  }

  /** Creates the post with the caller's parts (its slug's claim, an idempotency record) in one transaction. */
  async create(post: Post, ...parts: TransactionPart[]): Promise<void> {
    const { content, ...summary } = post;
    await transactWrite(this.db, [
      {
        item: {
          Put: {
            TableName: this.tableName,
            Item: toPostSummaryItem(summary),
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      },
      this.putContent(post.id, content),
      ...this.linkOperations(undefined, summary),
      ...parts,
    ]);
  }

  /**
   * Saves a new state of the post on condition of the version it was read at. Counters are
   * left alone (likes and views may change concurrently); index keys, links and counts follow
   * the new state in the same transaction, with the caller's parts (a slug swap).
   */
  async save(
    before: PostSummary,
    after: PostSummary,
    content: string | undefined,
    ...parts: TransactionPart[]
  ): Promise<void> {
    await transactWrite(this.db, [
      this.versioned.apply(
        Keys.post(before.id),
        withAuthorDisplayUnchanged(
          before,
          buildStateUpdate(
            before,
            after,
            {
              // The author's name is the fan-out's to write (an edit that read an older one must
              // not put it back), except when the post changes hands (anonymised).
              keep:
                after.authorId === before.authorId ? [...IMMUTABLE_FIELDS, ...AUTHOR_DISPLAY_FIELDS] : IMMUTABLE_FIELDS,
              indexKeys: indexKeysOf(after),
              indexAttributes: POST_INDEX_ATTRIBUTES,
            },
            before.version,
          ),
        ),
      ),
      ...(content !== undefined ? [this.putContent(before.id, content)] : []),
      // The links copy the summary as this save leaves it: with the version it is about to get.
      ...this.linkOperations(before, { ...after, version: before.version + 1 }),
      ...parts,
    ]);
  }

  /**
   * Deletes the summary, the content, the links and their counts at once; the rest of the
   * partition follows from the stream (`deletePartitionRemains`). The caller's parts (the
   * slug's release) join the transaction.
   */
  async delete(before: PostSummary, now: Date, ...parts: TransactionPart[]): Promise<void> {
    await transactWrite(this.db, [
      this.versioned.delete(Keys.post(before.id), before.version),
      { item: { Delete: { TableName: this.tableName, Key: Keys.postContent(before.id) } } },
      { item: postCountsTombstone(this.tableName, before.id, now) },
      ...this.linkOperations(before, undefined),
      ...parts,
    ]);
  }

  /**
   * One bounded run of a deleted post's cascade (the stream processor, never a request): removes
   * at most `maxLikes` of its likes (from its like shards, src/posts/like-shards.ts), each with its
   * user's `likedCount - 1` (a transaction a like, 10 at a time; a like removed already, by a retry
   * or an unlike, fails its condition and counts nothing twice). While likes remain it stops there
   * and answers `more`; once none remain it deletes the rest of the post's partition (comments with
   * their pointers, which live outside it, and comment likes) except the counter item's tombstone,
   * which stays until its `ttl` so late counts fail. The rest waits for the likes because deleting a like without its count would
   * leave `likedCount` high. The like shards' counter tombstones stay too (put by the cascade's first
   * run: `tombstoneCounterShards`). Deleting what is gone already is fine, so a run can be repeated.
   */
  async deletePartitionRemains(postId: string, maxLikes: number): Promise<{ removed: number; more: boolean }> {
    const likes: Item[] = [];
    let more = false;
    // Shard by shard (each run starts again at shard 0: the likes removed are gone, and an empty
    // shard's Query reads 0.5 RCU), until `maxLikes` are found.
    for (let shard = 0; shard < LIKE_SHARDS; shard++) {
      if (likes.length >= maxLikes) {
        more = true;
        break;
      }
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :like)',
          ExpressionAttributeValues: { ':pk': Keys.postLikeShardPartition(postId, shard), ':like': Keys.likePrefix },
          ProjectionExpression: 'PK, SK, userId, GSI2SK',
          ConsistentRead: true,
          Limit: maxLikes - likes.length,
        }),
      );
      likes.push(...(page.Items ?? []));
      if (page.LastEvaluatedKey) more = true;
    }
    let moved = false;
    for (let start = 0; start < likes.length; start += LIKE_REMOVALS_AT_ONCE) {
      const removed = await Promise.all(
        likes.slice(start, start + LIKE_REMOVALS_AT_ONCE).map((like) => this.removeLikeCounted(like)),
      );
      moved ||= removed.includes(false);
    }
    // A like whose place moved between the Query and its removal (never once the summary is gone,
    // but cheap to be sure of) is still there: the next run takes it with its new place.
    if (more || moved) return { removed: likes.length, more: true };
    const counts = Keys.postCounts(postId).SK;
    // A comment's pointer lives in a partition of its own (src/dynamo/keys.ts): it goes with its comment.
    const rest = await deletePartition(
      this.db,
      this.tableName,
      Keys.postPartition(postId),
      (key) => key.SK === counts,
      (key) => (key.SK.startsWith(Keys.commentPrefix) ? Keys.commentPointerOf(key) : undefined),
    );
    return { removed: likes.length + rest, more: false };
  }

  /**
   * Asks for the cascade's next run: `cascadeStep = step` on the post's counter tombstone, whose
   * own stream record carries it (and its `ttl` pushed back, so a long cascade keeps its carrier).
   * Only over an older step of a deleted post's tombstone: a record delivered twice moves nothing.
   */
  async continueCascade(postId: string, step: number, now: Date): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.postCounts(postId),
          UpdateExpression: 'SET cascadeStep = :step, #ttl = :ttl',
          ConditionExpression:
            'attribute_exists(deletedAt) AND (attribute_not_exists(cascadeStep) OR cascadeStep < :step)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':step': step, ':ttl': tombstoneTtl(now) },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // No tombstone any more: its `ttl` passed before the cascade got here (a worker stopped for
      // over an hour; review 5, #6b). Without a carrier the rest of the partition would stay for
      // good, so a new one is put, and its INSERT carries the step. Where the tombstone is there
      // (a step delivered twice), this put fails its condition and changes nothing.
      await this.db
        .send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...Keys.postCounts(postId),
              entity: ENTITY.PostCounts,
              deletedAt: now.toISOString(),
              cascadeStep: step,
              ttl: tombstoneTtl(now),
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        )
        .catch((putError: unknown) => {
          if (!isConditionalCheckFailed(putError)) throw putError;
        });
    }
  }

  /**
   * The stream processor's fan-out of an author's new name: the summary and the post's feed links
   * get `display`, each only over an older copy and only while the post (or the link's copy of it)
   * is still the author's: after an erasure anonymised the post, a late rename changes nothing. Safe to repeat and to receive late: a failed condition is a copy already as new.
   */
  async setAuthorDisplay(post: PostSummary, display: AuthorDisplay): Promise<void> {
    const links = [Keys.post(post.id), ...this.links.linkKeys(linkable(post)!)];
    for (const [index, key] of links.entries()) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            // The summary itself, then the links' summary copies (a link without one has nothing to update).
            ...authorDisplayUpdate(
              display,
              index === 0 ? { authorId: post.authorId } : { authorId: post.authorId, within: 'summary' },
            ),
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }

  /** Summary, content, counters and (for a signed-in viewer) the like, in one consistent BatchGetItem. */
  async findById(postId: string, viewerId?: string): Promise<PostRead | undefined> {
    const keys = [
      Keys.post(postId),
      Keys.postContent(postId),
      Keys.postCounts(postId),
      ...(viewerId ? [Keys.like(postId, viewerId)] : []),
    ];
    const items = await batchGetAll(this.db, this.tableName, keys, { consistentRead: true });
    const summary = items.find((item) => item.SK === Keys.post(postId).SK);
    if (!summary) return undefined;
    const content = items.find((item) => item.SK === Keys.postContent(postId).SK);
    const counts = countsOf(items.find((item) => item.SK === Keys.postCounts(postId).SK));
    return {
      post: { ...withCounts(summaryOf(summary), counts), content: (content?.content as string | undefined) ?? '' },
      likedByViewer: items.some((item) => String(item.SK).startsWith(Keys.likePrefix)),
    };
  }

  /**
   * The summary (its counts are the base: see `withCounts`) and the counter item, in one
   * consistent BatchGetItem: what a like or a view reads before it writes.
   */
  async findForCounting(postId: string): Promise<SummaryRead | undefined> {
    const items = await batchGetAll(this.db, this.tableName, [Keys.post(postId), Keys.postCounts(postId)], {
      consistentRead: true,
    });
    const summary = items.find((item) => item.SK === Keys.post(postId).SK);
    if (!summary) return undefined;
    return {
      summary: summaryOf(summary),
      counts: countsOf(items.find((item) => item.SK === Keys.postCounts(postId).SK)),
    };
  }

  /**
   * The summary with its counts, for a save that is not a request's (moving a category's posts,
   * anonymising an author): the links it rewrites copy the counts.
   */
  async findSummaryWithCounts(postId: string): Promise<PostSummary | undefined> {
    const read = await this.findForCounting(postId);
    return read && withCounts(read.summary, read.counts);
  }

  async findSummary(postId: string): Promise<PostSummary | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.post(postId), ConsistentRead: true }),
    );
    return result.Item ? summaryOf(result.Item) : undefined;
  }

  /**
   * Summaries for a list of ids with their counts, in the order of the ids (missing ones
   * skipped): one BatchGetItem of the summaries and counter items together.
   */
  async findSummaries(postIds: string[]): Promise<PostSummary[]> {
    return (await this.findSummariesWith(postIds, [])).summaries;
  }

  /**
   * `findSummaries` plus other items read in the same BatchGetItem (a feed page's follow edges),
   * returned apart: one call for both when the keys fit in 100.
   */
  async findSummariesWith(
    postIds: string[],
    extraKeys: ItemKey[],
  ): Promise<{ summaries: PostSummary[]; extra: Item[] }> {
    if (postIds.length === 0 && extraKeys.length === 0) return { summaries: [], extra: [] };
    const all = await batchGetAll(this.db, this.tableName, [
      ...postIds.flatMap((id) => [Keys.post(id), Keys.postCounts(id)]),
      ...extraKeys,
    ]);
    const isPostItem = (item: Item) => String(item.PK).startsWith(Keys.postPartition(''));
    const items = all.filter(isPostItem);
    const extra = all.filter((item) => !isPostItem(item));
    const counts = new Map(
      items.filter((item) => item.SK === Keys.postCounts('').SK).map((item) => [item.PK as string, countsOf(item)]),
    );
    const byId = new Map(
      items
        .filter((item) => item.SK === Keys.post('').SK)
        .map((item) => [
          item.id as string,
          withCounts(summaryOf(item), counts.get(item.PK as string) ?? countsOf(undefined)),
        ]),
    );
    return { summaries: postIds.flatMap((id) => byId.get(id) ?? []), extra };
  }

  /**
   * Positions (`<publishedAt>#<id>`) of an author's published posts below `before`, newest first:
   * one Query of the author feed (GSI2) with only the attributes a feed merge needs. What a
   * reader's feed reads for an author fanned in on read.
   */
  async publishedPositions(
    authorId: string,
    before: string,
    limit: number,
  ): Promise<{ candidates: { position: string; postId: string; authorId: string }[]; more: boolean }> {
    const gsi = GSI.GSI2;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: gsi.name,
        KeyConditionExpression: '#pk = :pk AND #sk < :before',
        ExpressionAttributeNames: { '#pk': gsi.partitionKey, '#sk': gsi.sortKey, '#id': 'id' },
        ExpressionAttributeValues: {
          ':pk': PostIndexKeys.published({ id: '', authorId, publishedAt: '' }).GSI2PK,
          ':before': before,
        },
        ProjectionExpression: '#id, #sk',
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return {
      candidates: (result.Items ?? []).map((item) => ({
        position: item[gsi.sortKey] as string,
        postId: item.id as string,
        authorId,
      })),
      more: result.LastEvaluatedKey !== undefined,
    };
  }

  /**
   * The status and `publishedAt` of those of these posts that exist (any status), by id: one
   * BatchGetItem of their summaries, no counters (a missing post is absent from the map).
   */
  async publicationStates(postIds: string[]): Promise<Map<string, PublicationState>> {
    if (postIds.length === 0) return new Map();
    const items = await batchGetAll(
      this.db,
      this.tableName,
      postIds.map((id) => Keys.post(id)),
    );
    return new Map(
      items.map((item) => [
        item.id as string,
        { status: item.status as PostSummary['status'], publishedAt: item.publishedAt as string | undefined },
      ]),
    );
  }

  /**
   * Adds the counter items to summaries read from an index (whose entries hold only the base):
   * one eventually consistent BatchGetItem of small items, none for an empty page.
   */
  async addCounts(summaries: PostSummary[]): Promise<PostSummary[]> {
    if (summaries.length === 0) return summaries;
    const items = await batchGetAll(
      this.db,
      this.tableName,
      summaries.map((summary) => Keys.postCounts(summary.id)),
    );
    const counts = new Map(items.map((item) => [item.PK as string, countsOf(item)]));
    return summaries.map((summary) =>
      withCounts(summary, counts.get(Keys.postPartition(summary.id)) ?? countsOf(undefined)),
    );
  }

  // --- feeds ------------------------------------------------------------------------------

  /**
   * The global feed, newest first, from month buckets (`GSI1PK=FEED#YYYY-MM`). A page reads
   * the bucket it is in and, when that runs out, the next older month that has posts
   * (`FEED#MONTHS`), at most three buckets: a bounded number of calls whatever the table size.
   */
  async globalFeed(limit: number, cursor: string | undefined, now: string): Promise<Page<PostSummary>> {
    const page = await this.globalFeedBase(limit, cursor, now);
    return { items: await this.addCounts(page.items), nextCursor: page.nextCursor };
  }

  private async globalFeedBase(
    limit: number,
    cursor: string | undefined,
    now: string,
    countOnly = false,
  ): Promise<Page<PostSummary> & { count: number }> {
    const scope = 'feed';
    // The cursor holds the month it points into, plus either its LastEvaluatedKey or `older: 1`
    // (start with the month before it).
    const { month: cursorMonth, older, ...key } = this.cursors.decode(cursor, scope) ?? {};
    let month: string | undefined = typeof cursorMonth === 'string' ? cursorMonth : feedBucket(now);
    let startKey: LastEvaluatedKey | undefined = !older && Object.keys(key).length > 0 ? key : undefined;
    if (older) month = await this.olderMonth(month);
    const items: PostSummary[] = [];
    let count = 0; // entries read (items are kept unless countOnly)
    for (let buckets = 0; month && count < limit && buckets < MAX_BUCKETS_PER_PAGE; buckets++) {
      const result = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_PATTERNS.globalFeedMonth.index,
          KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK < :upTo',
          ExpressionAttributeValues: { ':pk': PostIndexKeys.feedPartition(month), ':upTo': upTo(now) },
          ScanIndexForward: false,
          Limit: limit - count,
          ...(countOnly ? { Select: 'COUNT' } : SUMMARY_PROJECTION),
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []).map(projectedSummary));
      count += result.Count ?? 0;
      if (result.LastEvaluatedKey) {
        if (count >= limit)
          return { items, count, nextCursor: this.cursors.encode({ month, ...result.LastEvaluatedKey }, scope) };
        startKey = result.LastEvaluatedKey; // DynamoDB stopped at its 1 MB page: go on in the same bucket
        continue;
      }
      startKey = undefined;
      if (count >= limit) return { items, count, nextCursor: this.cursors.encode({ month, older: 1 }, scope) };
      month = await this.olderMonth(month);
    }
    return { items, count, nextCursor: month ? this.cursors.encode({ month, older: 1 }, scope) : null };
  }

  /** An author's published posts, newest first (GSI2). */
  async authorFeed(
    authorId: string,
    limit: number,
    cursor: string | undefined,
    now: string,
  ): Promise<Page<PostSummary>> {
    return this.indexFeed(
      INDEX_PATTERNS.authorPublished.index,
      PostIndexKeys.authorPublishedPartition(authorId),
      limit,
      cursor,
      upTo(now),
    );
  }

  /** The author's own posts in any status (GSI3) or one stored status (GSI4), newest first. */
  async ownPosts(
    authorId: string,
    status: StoredPostStatus | undefined,
    limit: number,
    cursor?: string,
  ): Promise<Page<PostSummary>> {
    const [index, partition] = status
      ? ([INDEX_PATTERNS.ownPostsByStatus.index, PostIndexKeys.ownPostsByStatusPartition(authorId, status)] as const)
      : ([INDEX_PATTERNS.ownPosts.index, PostIndexKeys.ownPostsPartition(authorId)] as const);
    const page = await queryIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index,
      partition,
      limit,
      cursor,
      projection: SUMMARY_PROJECTION,
    });
    return { items: await this.addCounts(page.items.map(projectedSummary)), nextCursor: page.nextCursor };
  }

  /** A tag's published posts: one Query of its links, which carry the summaries. */
  tagFeed(tagId: string, limit: number, cursor: string | undefined, now: string): Promise<Page<PostSummary>> {
    return this.linkFeed(Keys.tagPartition(tagId), limit, cursor, now);
  }

  /** Ids of every published post in a category (its links), for moving them elsewhere. */
  async categoryPostIds(categoryId: string): Promise<string[]> {
    const links = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': Keys.categoryFeedPartition(categoryId), ':prefix': Keys.postLinkPrefix },
      ConsistentRead: true,
    });
    return links.map((link) => link.postId as string);
  }

  /** A category's published posts: one Query of its links, which carry the summaries. */
  categoryFeed(categoryId: string, limit: number, cursor: string | undefined, now: string): Promise<Page<PostSummary>> {
    return this.linkFeed(Keys.categoryFeedPartition(categoryId), limit, cursor, now);
  }

  /**
   * Skips up to `limit` entries of a list, as an offset does: the same Query as the list's page
   * with `Select: COUNT`, so no item comes back and nothing is read per entry (no counter items,
   * summaries or link copies), only the cursor after them. DynamoDB bills a Query by the size of
   * the index entries it reads whatever is returned, so its RCU are the page's Query's; what the
   * skip saves is the page's other reads (docs/conduit.md has the figures).
   */
  async skip(list: PostList, limit: number, cursor: string | undefined, now: string): Promise<SkippedEntries> {
    let page: { count?: number; nextCursor: string | null };
    if ('authorId' in list)
      page = await this.indexFeed(
        INDEX_PATTERNS.authorPublished.index,
        PostIndexKeys.authorPublishedPartition(list.authorId),
        limit,
        cursor,
        upTo(now),
        true,
      );
    else if ('tagId' in list) page = await this.linkFeed(Keys.tagPartition(list.tagId), limit, cursor, now, true);
    else if ('likedBy' in list)
      page = await queryIndexPage(this.db, this.cursors, {
        tableName: this.tableName,
        index: INDEX_PATTERNS.likesBy.index,
        partition: PostIndexKeys.likesPartition(list.likedBy),
        sortKeyAtMost: upTo(now),
        limit,
        cursor,
        select: 'COUNT',
      });
    else page = await this.globalFeedBase(limit, cursor, now, true);
    return { skipped: page.count ?? 0, nextCursor: page.nextCursor };
  }

  // --- published-post counts (src/posts/published-counters.ts) ---------------------------

  /**
   * Live posts in the whole table: the months' `publishedCount`s summed (one Query of the small
   * `FEED#MONTHS` partition, one item a month), less the scheduled posts not out yet, counted in
   * the months from this one on (a `Select: COUNT` Query each, reading only those entries).
   */
  async liveCount(now: string): Promise<number> {
    const months = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': Keys.feedMonthsPartition },
      ExpressionAttributeNames: { '#count': PUBLISHED_COUNT, '#month': 'SK' },
      ProjectionExpression: '#month, #count',
    });
    const counted = months.reduce((sum, month) => sum + countOf(month, PUBLISHED_COUNT), 0);
    const ahead = months.map((month) => String(month.SK)).filter((month) => month >= feedBucket(now));
    const scheduled = await Promise.all(
      ahead.map((month) =>
        this.countAfter(INDEX_PATTERNS.globalFeedMonth.index, PostIndexKeys.feedPartition(month), now),
      ),
    );
    return counted - scheduled.reduce((sum, n) => sum + n, 0);
  }

  /** An author's live posts: their `publishedCount` (one GetItem) less their scheduled ones (one Query). */
  async authorLiveCount(authorId: string, now: string): Promise<number> {
    const [counts, scheduled] = await Promise.all([
      this.userPostCounts(authorId),
      this.countAfter(INDEX_PATTERNS.authorPublished.index, PostIndexKeys.authorPublishedPartition(authorId), now),
    ]);
    return counts.published - scheduled;
  }

  /**
   * Ids of an author's posts placed after `after` in their published list (GSI2
   * `AUTHOR#<id>#PUBLISHED`, sorted by `publishedAt`): the posts scheduled at that time. A Query
   * of those entries only, projected to the id (0.5 RCU when there are none), every page.
   */
  async authorPostIdsAfter(authorId: string, after: string): Promise<string[]> {
    const gsi = GSI[INDEX_PATTERNS.authorPublished.index];
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      IndexName: gsi.name,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :after AND :end',
      ExpressionAttributeNames: { '#pk': gsi.partitionKey, '#sk': gsi.sortKey, '#id': 'id' },
      ExpressionAttributeValues: {
        ':pk': PostIndexKeys.authorPublishedPartition(authorId),
        ':after': upTo(after),
        ':end': '~',
      },
      ProjectionExpression: '#id',
    });
    return items.map((item) => String(item.id));
  }

  /** A tag's scheduled posts not out yet (one Query of its links after now), to take from its `postCount`. */
  tagScheduledCount(tagId: string, now: string): Promise<number> {
    return this.countAfter(undefined, Keys.tagPartition(tagId), now);
  }

  /** A user's published posts and likes: one GetItem of the user's counts item. */
  async userPostCounts(userId: string): Promise<{ published: number; liked: number }> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: Keys.userPostCounts(userId) }));
    return { published: countOf(result.Item, PUBLISHED_COUNT), liked: countOf(result.Item, LIKED_COUNT) };
  }

  /**
   * Authors' `USER#POSTS` items, for their published posts per day (the personal feed's count of
   * its fan-in authors, src/posts/feed-days.ts): one BatchGetItem for up to 100 authors.
   */
  async authorDayCounts(authorIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    if (authorIds.length === 0) return new Map();
    const keys = authorIds.map((authorId) => Keys.userPostCounts(authorId));
    const items = await batchGetAll(this.db, this.tableName, keys);
    const byKey = new Map(items.map((item) => [String(item.PK), item]));
    return new Map(
      authorIds.flatMap((authorId, i) => {
        const item = byKey.get(keys[i].PK);
        return item ? [[authorId, item] as const] : [];
      }),
    );
  }

  /** An author's posts scheduled for later today (counted by their day, not out yet): one COUNT Query. */
  authorScheduledLaterToday(authorId: string, now: Date): Promise<number> {
    const gsi = GSI[INDEX_PATTERNS.authorPublished.index];
    return countAll(this.db, {
      TableName: this.tableName,
      IndexName: gsi.name,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :after AND :end',
      ExpressionAttributeNames: { '#pk': gsi.partitionKey, '#sk': gsi.sortKey },
      ExpressionAttributeValues: {
        ':pk': PostIndexKeys.authorPublishedPartition(authorId),
        ':after': upTo(now.toISOString()),
        ':end': endOfDay(now),
      },
    });
  }

  /**
   * How many entries of a feed partition lie after `now` (scheduled posts): `Select: COUNT`
   * Queries, which read only those entries (0.5 RCU when there are none). The table's own tag
   * link partition when `index` is undefined (its links sort as `POST#<publishedAt>#<id>`).
   */
  private async countAfter(index: GsiName | undefined, partition: string, now: string): Promise<number> {
    const gsi = index ? GSI[index] : { name: undefined, partitionKey: 'PK', sortKey: 'SK' };
    const prefix = index ? '' : Keys.postLinkPrefix;
    return countAll(this.db, {
      TableName: this.tableName,
      IndexName: gsi.name,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :after AND :end',
      ExpressionAttributeNames: { '#pk': gsi.partitionKey, '#sk': gsi.sortKey },
      ExpressionAttributeValues: { ':pk': partition, ':after': `${prefix}${upTo(now)}`, ':end': `${prefix}~` },
    });
  }

  // --- likes and views --------------------------------------------------------------------

  /**
   * Removes a like (the cascade's) on condition of the place it was read at, with its user's
   * `likedCount - 1` when that place is counted (a hidden like is not in the count). False when
   * the like is gone already or its place changed meanwhile.
   */
  private async removeLikeCounted(like: Record<string, unknown>): Promise<boolean> {
    const position = typeof like.GSI2SK === 'string' ? like.GSI2SK : undefined;
    const remove = {
      Delete: {
        TableName: this.tableName,
        Key: { PK: String(like.PK), SK: String(like.SK) },
        ConditionExpression: position === undefined ? 'attribute_exists(PK)' : 'GSI2SK = :position',
        ...(position === undefined ? {} : { ExpressionAttributeValues: { ':position': position } }),
      },
    };
    if (position !== undefined && !isCountedPosition(position)) {
      try {
        await this.db.send(new DeleteCommand(remove.Delete));
        return true;
      } catch (error) {
        if (isConditionalCheckFailed(error)) return false;
        throw error;
      }
    }
    return writeCountedMarker(this.db, remove, likedCountChange(this.tableName, String(like.userId), -1).item);
  }

  // --- likes' places follow their posts' visibility (src/posts/like-visibility.ts) -------

  /**
   * One bounded run of a post's likes moving to the places its current state gives them (the
   * stream processor's `LikeVisibilitySync`, never a request): reads the summary (consistent),
   * then at most `maxLikes` likes after `after` (a like shard and a sort key in it), and
   * moves each whose place differs, in a transaction a like: the like's new place on condition
   * of its old one, its user's `likedCount ± 1` when it enters or leaves the count, and a check
   * that the post is still in the state read. A like moved already, or whose post changed since,
   * fails its condition and counts nothing (the post's change has its own run). Answers where the
   * next run starts, or undefined when none is needed (the last like read, or the post is gone:
   * its cascade removes the likes with their counts).
   */
  async syncLikePlaces(postId: string, after: string | undefined, maxLikes: number): Promise<SyncRun> {
    const summary = await this.findSummaryConsistent(postId);
    if (!summary) return { moved: 0 };
    const from = parseLikeCursor(after);
    let moved = 0;
    let read = 0;
    // The like shards in order, from where the last run stopped (`<n>#<SK>`: src/posts/like-shards.ts).
    for (let shard = from.shard; shard < LIKE_SHARDS; shard++) {
      if (read >= maxLikes) return { moved, next: likeCursor(shard, '') };
      const start = shard === from.shard ? from.after : undefined;
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: start ? 'PK = :pk AND SK > :after' : 'PK = :pk AND begins_with(SK, :like)',
          ExpressionAttributeValues: {
            ':pk': Keys.postLikeShardPartition(postId, shard),
            ...(start ? { ':after': start } : { ':like': Keys.likePrefix }),
          },
          ProjectionExpression: 'SK, userId, likedAt, GSI2SK',
          ConsistentRead: true,
          Limit: maxLikes - read,
        }),
      );
      const likes = (page.Items ?? []).filter((item) => String(item.SK).startsWith(Keys.likePrefix));
      read += likes.length;
      // One at a time: every move's transaction checks the same post item, and DynamoDB cancels
      // concurrent transactions on one item (TransactionConflict), so parallel moves would retry
      // each other (review 11, M1). A run is bounded by STREAM_CASCADE_LIKES_PER_RUN.
      for (const like of likes) if (await this.moveLike(summary, like as LikePlace)) moved++;
      const last = page.Items?.at(-1)?.SK as string | undefined;
      if (page.LastEvaluatedKey !== undefined && last !== undefined && last.startsWith(Keys.likePrefix))
        return { moved, next: likeCursor(shard, last) };
    }
    return { moved };
  }

  /** The summary as it is now (a strongly consistent GetItem), or undefined when deleted. */
  async findSummaryConsistent(postId: string): Promise<PostSummary | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.post(postId), ConsistentRead: true }),
    );
    return result.Item ? summaryOf(result.Item) : undefined;
  }

  /** One like to the place its post's state (`summary`, as read) gives it: see `syncLikePlaces`. */
  async moveLike(summary: PostSummary, like: LikePlace): Promise<boolean> {
    const postId = summary.id;
    const target = likePosition({ likedAt: like.likedAt, postId }, summary);
    if (like.GSI2SK === target) return false;
    const wasCounted = like.GSI2SK !== undefined && isCountedPosition(like.GSI2SK);
    const delta = (isCountedPosition(target) ? 1 : 0) - (wasCounted ? 1 : 0);
    const shown = isCountedPosition(target);
    const postUnchanged = {
      ConditionCheck: {
        TableName: this.tableName,
        Key: Keys.post(postId),
        ConditionExpression: shown
          ? '#status = :published AND publishedAt = :at'
          : 'attribute_exists(PK) AND NOT (#status = :published AND attribute_exists(publishedAt))',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':published': 'published', ...(shown ? { ':at': summary.publishedAt } : {}) },
      },
    };
    try {
      await transactWrite(this.db, [
        {
          item: {
            Update: {
              TableName: this.tableName,
              Key: Keys.like(postId, like.userId),
              UpdateExpression: 'SET GSI2SK = :target',
              ConditionExpression:
                like.GSI2SK === undefined ? 'attribute_exists(PK) AND attribute_not_exists(GSI2SK)' : 'GSI2SK = :place',
              ExpressionAttributeValues: {
                ':target': target,
                ...(like.GSI2SK === undefined ? {} : { ':place': like.GSI2SK }),
              },
            },
          },
          onConditionFailed: () => new PlaceChanged(),
        },
        { item: postUnchanged, onConditionFailed: () => new PlaceChanged() },
        ...(delta === 0 ? [] : [likedCountChange(this.tableName, like.userId, delta as 1 | -1)]),
      ]);
      return true;
    } catch (error) {
      if (error instanceof PlaceChanged) return false;
      throw error;
    }
  }

  /** Records where a post's like-place sync goes on: its counter item's stream record starts the next run. */
  async continueLikeSync(postId: string, step: number, after: string, syncId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.postCounts(postId),
          // The sync's id makes each sync's steps new values: without it a later sync that stopped
          // at the same step and like wrote what was there, DynamoDB emitted no record, and its
          // next run never started (review 11, H1).
          UpdateExpression: 'SET likeSyncStep = :step, likeSyncAfter = :after, likeSyncId = :sync',
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(deletedAt)',
          ExpressionAttributeValues: { ':step': step, ':after': after, ':sync': syncId },
        }),
      );
    } catch (error) {
      // Deleted meanwhile: its cascade removes the likes.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /**
   * Likes a post once: the like item, `likeCount + 1` and the user's `likedCount + 1` in one
   * conditional transaction (6 WCU). The count goes to the post's counter item (`COUNTS`, visible at
   * once) when `onPost`, else to the like's shard (same partition as the like, nothing in the
   * post's: src/posts/like-shards.ts); the like records which (`countedOnPost`). A deleted post's
   * tombstone on either fails it (`onPostGone`). False if already liked.
   */
  addLike(postId: string, userId: string, now: string, onPostGone?: () => Error, onPost = false): Promise<boolean> {
    return writeCountedMarker(
      this.db,
      {
        Put: {
          TableName: this.tableName,
          Item: toLikeItem(postId, userId, now, onPost),
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      onPost
        ? postCounterChange(this.tableName, postId, 'likeCount', 1)
        : likeShardChange(this.tableName, postId, userId, 1),
      onPostGone,
      [likedCountChange(this.tableName, userId, 1)],
    );
  }

  /**
   * Removes a like: the like item, `likeCount - 1` where the like was counted (its post's counter
   * item or its shard: `countedOnPost`) and, for a counted like, the user's `likedCount - 1` (a
   * hidden like, its post withdrawn, is not in `likedCount`: src/posts/like-visibility.ts), in one
   * transaction conditional on the like being of that kind. The first attempt guesses a counted
   * like counted where `onPostFirst` says (the post's heat: src/posts/like-heat.ts). When it finds
   * no such like, a consistent read says whether there is one and of what kind, and that kind is
   * removed; refused again, the stream's sync moved the like between the read and the write (review
   * 11, L2): the read and the write run again (at most UNLIKE_ROUNDS times, then 503). One
   * transaction when the guess is right. False if not liked.
   */
  async removeLike(postId: string, userId: string, onPostGone?: () => Error, onPostFirst = true): Promise<boolean> {
    let kind: LikeCounting = { onPost: onPostFirst, hidden: false };
    for (let round = 0; round < UNLIKE_ROUNDS; round++) {
      if (await this.removeLikeOfKind(postId, userId, kind, onPostGone)) return true;
      const like = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: Keys.like(postId, userId), ConsistentRead: true }),
      );
      if (!like.Item) return false;
      const place: unknown = like.Item.GSI2SK;
      kind = {
        onPost: like.Item.countedOnPost === true,
        hidden: typeof place === 'string' && !isCountedPosition(place),
      };
    }
    throw serviceUnavailable(ErrorCode.TransactionConflict, 'The like is being moved; try again.', 1);
  }

  /** One attempt of `removeLike`: the like if it is of this kind, with its counts. */
  private removeLikeOfKind(
    postId: string,
    userId: string,
    kind: LikeCounting,
    onPostGone?: () => Error,
  ): Promise<boolean> {
    const counted = kind.hidden
      ? 'begins_with(GSI2SK, :hidden)'
      : 'attribute_exists(PK) AND NOT begins_with(GSI2SK, :hidden)';
    const where = kind.onPost ? 'countedOnPost = :true' : 'attribute_not_exists(countedOnPost)';
    return writeCountedMarker(
      this.db,
      {
        Delete: {
          TableName: this.tableName,
          Key: Keys.like(postId, userId),
          ConditionExpression: `${counted} AND ${where}`,
          ExpressionAttributeValues: { ':hidden': HIDDEN_LIKE_PREFIX, ...(kind.onPost ? { ':true': true } : {}) },
        },
      },
      kind.onPost
        ? postCounterChange(this.tableName, postId, 'likeCount', -1)
        : likeShardChange(this.tableName, postId, userId, -1),
      onPostGone,
      kind.hidden ? [] : [likedCountChange(this.tableName, userId, -1)],
    );
  }

  /**
   * The user's liked posts that are out, newest first by place (src/posts/like-visibility.ts):
   * one index Query bounded at now (no hidden like, no like of a post not out yet) and one
   * BatchGetItem.
   */
  async likedBy(userId: string, limit: number, cursor: string | undefined, now: string): Promise<Page<PostSummary>> {
    const page = await queryIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index: INDEX_PATTERNS.likesBy.index,
      partition: PostIndexKeys.likesPartition(userId),
      sortKeyAtMost: upTo(now),
      limit,
      cursor,
    });
    const ids = page.items.map((like) => like.postId as string);
    return { items: await this.findSummaries(ids), nextCursor: page.nextCursor };
  }

  /**
   * The user's liked posts that are out: their `likedCount` (one GetItem) less their likes of
   * posts scheduled for later (one `Select: COUNT` Query of the likes placed after now, which
   * reads only those), in parallel.
   */
  async likedLiveCount(userId: string, now: string): Promise<number> {
    const [counts, scheduled] = await Promise.all([
      this.userPostCounts(userId),
      this.countAfter(INDEX_PATTERNS.likesBy.index, PostIndexKeys.likesPartition(userId), now),
    ]);
    return counts.liked - scheduled;
  }

  /** A page of a user's likes with their times (GSI2), newest first: for the user's data export. */
  async likeRecords(
    userId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<{ postId: string; likedAt: string }>> {
    const page = await queryIndexPage(this.db, this.cursors, {
      tableName: this.tableName,
      index: INDEX_PATTERNS.likesBy.index,
      partition: PostIndexKeys.likesPartition(userId),
      limit,
      cursor,
    });
    return {
      items: page.items.map((like) => ({ postId: like.postId as string, likedAt: like.likedAt as string })),
      nextCursor: page.nextCursor,
    };
  }

  /** Which of these posts `userId` likes: one eventually consistent BatchGetItem of the like items (keys only). */
  async likedAmong(userId: string, postIds: string[]): Promise<Set<string>> {
    if (postIds.length === 0) return new Set();
    const items = await batchGetAll(
      this.db,
      this.tableName,
      postIds.map((id) => Keys.like(id, userId)),
    );
    return new Set(items.map((item) => item.postId as string));
  }

  /** The contents of several posts by id (BatchGetItem, 100 a call). */
  async findContents(postIds: string[]): Promise<Map<string, string>> {
    const items = await batchGetAll(
      this.db,
      this.tableName,
      postIds.map((id) => Keys.postContent(id)),
    );
    return new Map(items.map((item) => [String(item.PK).slice(Keys.postPartition('').length), item.content as string]));
  }

  /** A page of the post ids a user likes (GSI2), newest like first. */
  async likedPostIds(userId: string, limit: number, cursor?: string): Promise<Page<string>> {
    const page = await this.likeRecords(userId, limit, cursor);
    return { items: page.items.map((like) => like.postId), nextCursor: page.nextCursor };
  }

  /**
   * Counts a view at most once per viewer per post per `periodSeconds`, in two single-item
   * writes and no transaction (views are not an exact count; a crash between the two loses one
   * view): the view marker (keyed by post and viewer, expiring by `ttl`), written only when
   * absent or expired, then `ADD viewCount 1` on one of the post's `shards` view counter shards,
   * at random (src/posts/view-shards.ts). 2 WCU, neither in the post's partition. `read` is the
   * post as the caller read it (`findForCounting`, live). The count returned is approximate: the
   * count read (the stream folds the shards into it a moment later) plus this view. Undefined when
   * the post was deleted meanwhile.
   */
  async addView(
    read: SummaryRead,
    viewer: string,
    now: Date,
    periodSeconds: number,
    shards: number,
  ): Promise<number | undefined> {
    const postId = read.summary.id;
    const at = now.toISOString();
    const counted = (read.summary.viewCount ?? 0) + read.counts.viewCount;
    const expiresAt = new Date(now.getTime() + periodSeconds * 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...Keys.view(postId, viewer),
            entity: ENTITY.View,
            viewedAt: at,
            expiresAt: expiresAt.toISOString(),
            ttl: epochSeconds(expiresAt),
          },
          ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': at },
        }),
      );
    } catch (error) {
      // Counted for this viewer already: the count as read.
      if (isConditionalCheckFailed(error)) return counted;
      throw error;
    }
    try {
      await this.db.send(new UpdateCommand(shardIncrement(this.tableName, postId, pickShard(shards))));
      return counted + 1;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined; // deleted meanwhile: the shard's tombstone
      throw error;
    }
  }

  /**
   * The stream processor's fold of a post's view shards into its counter item (`snapshots`: shard
   * number to its latest count in a batch; view-shards.ts): see `foldCounterShards`.
   */
  foldViewShards(postId: string, snapshots: ReadonlyMap<number, number>): Promise<void> {
    return this.foldCounterShards(
      postId,
      [...snapshots].map(([shard, count]) => viewSnapshot(shard, count)),
    );
  }

  /**
   * The stream processor's fold of a post's counter shards (view or like shards: view-shards.ts,
   * like-shards.ts) into its counter item: one UpdateItem per `FOLD_MAX_SNAPSHOTS` shards in the
   * usual case (review 20a M2: one for 100 shards passed DynamoDB's expression limit). Safe to repeat.
   * Nothing is written over a deleted post's tombstone, and the counter item of a post that has
   * none yet is created only while the post exists (in a transaction with a check of its summary),
   * so a fold that comes late never leaves a counter item behind.
   */
  async foldCounterShards(postId: string, snapshots: readonly ShardSnapshot[]): Promise<void> {
    for (const part of chunk(snapshots, FOLD_MAX_SNAPSHOTS)) await this.foldSnapshots(postId, part);
  }

  private async foldSnapshots(postId: string, snapshots: readonly ShardSnapshot[]): Promise<void> {
    if (snapshots.length === 0) return;
    try {
      await this.db.send(new UpdateCommand(snapshotFoldUpdate(this.tableName, postId, snapshots)));
      return;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const current = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.postCounts(postId), ConsistentRead: true }),
    );
    if (current.Item?.deletedAt !== undefined) return; // deleted: its tombstone stays as it is
    if (!current.Item) {
      try {
        await transactWrite(this.db, [
          { item: { Update: snapshotFoldUpdate(this.tableName, postId, snapshots, { create: true }) } },
          mustExist(this.tableName, Keys.post(postId), () => new Error('post gone')),
        ]);
        return;
      } catch (error) {
        if (!wasCanceled(error)) throw error;
        // The post is gone (nothing to fold into), or a comment or another fold created the counter
        // item meanwhile: then the shard-by-shard fold below writes into it.
      }
    }
    // An older batch after a newer one (a stored snapshot is newer): each shard on its own, only forwards.
    for (const snapshot of snapshots) {
      try {
        await this.db.send(new UpdateCommand(snapshotFoldUpdate(this.tableName, postId, [snapshot], { strict: true })));
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }

  /**
   * A deleted post's counter shards get tombstones (the cascade's first run): its view shards, its
   * like shards' counters and its comment counter shards. A view, a like or a hot post's comment that
   * read the post before its deletion fails on them instead of leaving a shard (or a like) behind
   * (a comment written before is in the post's partition, which the cascade deletes after); they
   * expire at the counter tombstone's `ttl`. One BatchWriteItem per 25 shards.
   */
  async tombstoneCounterShards(postId: string, viewShards: number, now: Date): Promise<void> {
    const deletedAt = now.toISOString();
    const ttl = tombstoneTtl(now);
    const items = [
      ...shardTombstones(postId, viewShards, deletedAt, ttl),
      ...likeShardTombstones(postId, deletedAt, ttl),
      ...commentShardTombstones(postId, deletedAt, ttl),
    ];
    await batchWriteAll(
      this.db,
      this.tableName,
      items.map((Item) => ({ PutRequest: { Item } })),
    );
  }

  /** Reads the result stored under an idempotency key. */
  async findIdempotent(userId: string, key: string): Promise<{ requestHash: string; postId: string } | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.idempotency(userId, key), ConsistentRead: true }),
    );
    return result.Item
      ? { requestHash: result.Item.requestHash as string, postId: result.Item.postId as string }
      : undefined;
  }

  /** Records an idempotency key in the creating transaction (kept 24 hours). */
  idempotencyOperation(
    userId: string,
    key: string,
    requestHash: string,
    postId: string,
    onTaken: () => Error,
  ): TransactOperation {
    return {
      item: {
        Put: {
          TableName: this.tableName,
          Item: {
            ...Keys.idempotency(userId, key),
            ...OwnedIndexKeys.idempotency(userId, key),
            entity: ENTITY.Idempotency,
            requestHash,
            postId,
            ttl: epochSeconds(this.clock.now()) + 86_400,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      onConditionFailed: onTaken,
    };
  }

  // --- internals --------------------------------------------------------------------------

  private putContent(postId: string, content: string): TransactOperation {
    return {
      item: {
        Put: { TableName: this.tableName, Item: { ...Keys.postContent(postId), entity: ENTITY.PostContent, content } },
      },
    };
  }

  /**
   * What follows a post from one state to the next outside its own items: taxonomy's links and
   * counts (its `PostLinkWrites` parts), and the published-post counts of its month of the global
   * feed and of its author (src/posts/published-counters.ts).
   */
  private linkOperations(before: PostSummary | undefined, after: PostSummary | undefined): TransactOperation[] {
    // The month's `publishedCount` change also creates the month's item on its first post.
    return [
      ...this.links.relink(linkable(before), linkable(after)),
      ...publishedCountChanges(this.tableName, before, after, this.clock.now()),
    ];
  }

  private async olderMonth(month: string): Promise<string | undefined> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND SK < :month',
        ExpressionAttributeValues: { ':pk': Keys.feedMonthsPartition, ':month': month },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return result.Items?.[0]?.SK as string | undefined;
  }

  private async indexFeed(
    index: typeof INDEX_PATTERNS.authorPublished.index,
    partition: string,
    limit: number,
    cursor: string | undefined,
    bound: string,
    countOnly = false,
  ): Promise<Page<PostSummary> & { count: number }> {
    const scope = `${index}|${partition}`;
    const gsi = GSI[index];
    const keyNames = { '#pk': gsi.partitionKey, '#sk': gsi.sortKey };
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: gsi.name,
        KeyConditionExpression: '#pk = :pk AND #sk < :bound',
        ExpressionAttributeValues: { ':pk': partition, ':bound': bound },
        ScanIndexForward: false,
        Limit: limit,
        ...(countOnly
          ? { Select: 'COUNT', ExpressionAttributeNames: keyNames }
          : {
              ProjectionExpression: SUMMARY_PROJECTION.ProjectionExpression,
              ExpressionAttributeNames: { ...keyNames, ...SUMMARY_PROJECTION.ExpressionAttributeNames },
            }),
        ExclusiveStartKey: this.cursors.decode(cursor, scope),
      }),
    );
    return {
      items: countOnly ? [] : await this.addCounts((result.Items ?? []).map(projectedSummary)),
      count: result.Count ?? 0,
      nextCursor: this.cursors.encode(result.LastEvaluatedKey, scope),
    };
  }

  private async linkFeed(
    partition: string,
    limit: number,
    cursor: string | undefined,
    now: string,
    countOnly = false,
  ): Promise<Page<PostSummary> & { count: number }> {
    const scope = `links|${partition}`;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': partition,
          ':from': Keys.postLinkPrefix,
          ':to': `${Keys.postLinkPrefix}${upTo(now)}`,
        },
        ScanIndexForward: false,
        Limit: limit,
        ...(countOnly ? { Select: 'COUNT' } : LINK_PROJECTION),
        ExclusiveStartKey: this.cursors.decode(cursor, scope),
      }),
    );
    const count = result.Count ?? 0;
    if (countOnly) return { items: [], count, nextCursor: this.cursors.encode(result.LastEvaluatedKey, scope) };
    // Links carry their post's summary; only those without one (too large for the cap, or written
    // before migration 0003) need the summaries read, in one BatchGetItem.
    const links = result.Items ?? [];
    const missing = links.filter((link) => summaryFromLink(link) === undefined).map((link) => link.postId as string);
    const read = new Map((await this.findSummaries(missing)).map((summary) => [summary.id, summary]));
    const items = links.flatMap((link) => summaryFromLink(link) ?? read.get(link.postId as string) ?? []);
    return { items, count, nextCursor: this.cursors.encode(result.LastEvaluatedKey, scope) };
  }
}

/** A like as the place sync reads it from the post's like shards. */
export interface LikePlace {
  userId: string;
  likedAt: string;
  GSI2SK?: string;
}

/** What one run of a post's like-place sync did, and where the next starts (none: done). */
export interface SyncRun {
  moved: number;
  next?: string;
}
