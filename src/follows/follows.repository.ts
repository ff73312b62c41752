import { Inject, Injectable } from '@nestjs/common';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { notFound, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { batchGetAll } from '../dynamo/batch.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { ENTITY, FollowIndexKeys, type ItemKey, Keys } from '../dynamo/keys.js';
import { GSI } from '../dynamo/table.definition.js';
import { type TransactItem, type TransactOperation, transactWrite } from '../dynamo/transactions.js';
import { type FollowCounts, followCountsOf, MAX_FAN_IN_AUTHORS, toFollowItem } from './follow-items.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';

/** The index of a follow edge listing: the followers (GSI1) or the following (GSI2). */
type EdgeIndex = (typeof INDEX_PATTERNS)['followers' | 'following']['index'];

type Item = Record<string, NativeAttributeValue>;

/** A user as a follow needs to see them: whether they exist and their status, with their counts. */
export interface FollowTarget {
  exists: boolean;
  status?: string;
  counts: FollowCounts;
}

/** One row of a followers or following page: the other user's id and when the follow began. */
export interface FollowEdge {
  userId: string;
  followedAt: string;
}

/** A page of edges with the listed users' items (and the owner's), read in one BatchGetItem. */
export interface FollowPage {
  owner: Item | undefined;
  edges: FollowEdge[];
  users: Map<string, Item>;
  nextCursor: string | null;
}

const edgeGone = () => new EdgeGoneError();
/** The follow edge was not (or no longer) there: the request or the stream record has nothing to do. */
export class EdgeGoneError extends Error {
  constructor() {
    super('follow edge absent');
    this.name = 'EdgeGoneError';
  }
}
const userGone = () => notFound(ErrorCode.UserNotFound, 'No such user.');
/** The reader's fan-in set is at MAX_FAN_IN_AUTHORS (or their counter item is gone). */
class FanInSetFull extends Error {}

/**
 * Persistence of follows: the edge items (`FOLLOW#<follower>#<author>`, listed by GSI1 and GSI2)
 * and each user's counter item (`USER#<id>` / `USER#FOLLOWS`, unindexed). Every write of an edge
 * changes both users' counts in the same transaction, so the counts are exact under concurrency.
 */
@Injectable()
export class FollowsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly cursors: CursorCodec,
  ) {}

  /** The author's user item (status only) and counts: one consistent BatchGetItem. */
  async findTarget(userId: string): Promise<FollowTarget> {
    const items = await batchGetAll(this.db, this.tableName, [Keys.user(userId), Keys.followCounts(userId)], {
      consistentRead: true,
    });
    const user = items.find((item) => item.SK === Keys.user(userId).SK);
    return {
      exists: user !== undefined,
      status: user?.status as string | undefined,
      counts: followCountsOf(items.find((item) => item.SK === Keys.followCounts(userId).SK)),
    };
  }

  /**
   * What a new edge's stream record needs to know, read strongly consistent in one BatchGetItem:
   * whether both users still exist, and whether the author is fan-in.
   */
  async edgeState(
    followerId: string,
    authorId: string,
  ): Promise<{ followerExists: boolean; authorExists: boolean; authorFanIn: boolean; fannedInAlready: boolean }> {
    const items = await batchGetAll(
      this.db,
      this.tableName,
      [Keys.user(followerId), Keys.user(authorId), Keys.followCounts(authorId), Keys.followCounts(followerId)],
      { consistentRead: true },
    );
    const find = (key: ItemKey) => items.find((item) => item.PK === key.PK && item.SK === key.SK);
    return {
      followerExists: find(Keys.user(followerId)) !== undefined,
      authorExists: find(Keys.user(authorId)) !== undefined,
      authorFanIn: followCountsOf(find(Keys.followCounts(authorId))).fanIn,
      // The follow's own transaction adds a fan-in author to the set: then there is nothing to do.
      fannedInAlready: followCountsOf(find(Keys.followCounts(followerId))).fanInAuthors.includes(authorId),
    };
  }

  /** A user's counts (strongly consistent when `consistent`). */
  async counts(userId: string, consistent = false): Promise<FollowCounts> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.followCounts(userId), ConsistentRead: consistent }),
    );
    return followCountsOf(result.Item);
  }

  /** Whether `followerId` follows `authorId` (one strongly consistent GetItem: a follow just made shows). */
  async isFollowing(followerId: string, authorId: string): Promise<boolean> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: Keys.follow(followerId, authorId),
        ProjectionExpression: 'PK',
        ConsistentRead: true,
      }),
    );
    return result.Item !== undefined;
  }

  /**
   * What a removed edge's stream record needs to know, read strongly consistent in one
   * BatchGetItem: whether the follower follows the author again, and whether the follower's user
   * item is still there (an erased reader's partition must not get a counter item back).
   */
  async removedEdgeState(
    followerId: string,
    authorId: string,
  ): Promise<{ following: boolean; followerExists: boolean }> {
    const items = await batchGetAll(
      this.db,
      this.tableName,
      [Keys.follow(followerId, authorId), Keys.user(followerId)],
      {
        consistentRead: true,
      },
    );
    const has = (key: ItemKey) => items.some((item) => item.PK === key.PK && item.SK === key.SK);
    return { following: has(Keys.follow(followerId, authorId)), followerExists: has(Keys.user(followerId)) };
  }

  /** Which of these authors `followerId` follows: one BatchGetItem of the edges (for a list page). */
  async followedAmong(followerId: string, authorIds: string[]): Promise<Set<string>> {
    const unique = [...new Set(authorIds)].filter((authorId) => authorId !== followerId);
    if (unique.length === 0) return new Set();
    const items = await batchGetAll(
      this.db,
      this.tableName,
      unique.map((authorId) => Keys.follow(followerId, authorId)),
    );
    return new Set(items.map((item) => item.authorId as string));
  }

  /**
   * Follows once: the edge (absent before), `followerCount + 1` on the author's counter item and
   * `followingCount + 1` on the follower's, on condition that the author is there and not
   * deactivated and the follower still exists (an erased user's counter item is never recreated).
   * A fan-in author (`authorFanIn`, as read before) also goes into the follower's fan-in set; the
   * author's counter item is conditioned on that flag still being what was read, so a follow
   * racing the author's promotion fails with `FanInChangedError` (read again and retry) instead of
   * being missed by the promotion. False when the edge was there already (nothing written).
   */
  async follow(followerId: string, authorId: string, at: string, authorFanIn: boolean): Promise<boolean> {
    return this.edgeWrite([
      {
        item: {
          Put: {
            TableName: this.tableName,
            Item: toFollowItem(followerId, authorId, at),
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onConditionFailed: edgeGone,
      },
      {
        item: withCondition(
          this.countChange(authorId, 'followerCount', 1),
          authorFanIn ? 'fanIn = :yes' : 'attribute_not_exists(fanIn)',
          authorFanIn ? { ':yes': true } : {},
        ),
        onConditionFailed: () => new FanInChangedError(),
      },
      authorFanIn
        ? {
            // The reader's fan-in set is capped (MAX_FAN_IN_AUTHORS), in the transaction, so
            // concurrent follows cannot pass it either.
            item: withCondition(
              this.countChange(followerId, 'followingCount', 1, { add: authorId }),
              'attribute_not_exists(fanInAuthors) OR size(fanInAuthors) < :maxFanIn',
              { ':maxFanIn': MAX_FAN_IN_AUTHORS },
            ),
            onConditionFailed: () =>
              unprocessable(
                ErrorCode.TooManyFanInFollows,
                `You follow ${MAX_FAN_IN_AUTHORS} authors with very many followers already; unfollow one of them first.`,
              ),
          }
        : { item: this.countChange(followerId, 'followingCount', 1) },
      {
        item: {
          ConditionCheck: {
            TableName: this.tableName,
            Key: Keys.user(authorId),
            ConditionExpression: 'attribute_exists(PK) AND #status <> :inactive',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':inactive': 'inactive' },
          },
        },
        onConditionFailed: userGone,
      },
      {
        item: this.exists(Keys.user(followerId)),
        onConditionFailed: userGone,
      },
    ]);
  }

  /**
   * Unfollows: deletes the edge (present before), both counts `- 1`, and the author from the
   * follower's fan-in set, in one transaction; the author must still exist (an erased author's
   * edges are the erasure cascade's). False when there was no edge.
   */
  async unfollow(followerId: string, authorId: string): Promise<boolean> {
    return this.edgeWrite([
      {
        item: {
          Delete: {
            TableName: this.tableName,
            Key: Keys.follow(followerId, authorId),
            ConditionExpression: 'attribute_exists(PK)',
          },
        },
        onConditionFailed: edgeGone,
      },
      { item: this.countChange(authorId, 'followerCount', -1) },
      { item: this.countChange(followerId, 'followingCount', -1, { drop: authorId }) },
      {
        item: this.exists(Keys.user(authorId)),
        onConditionFailed: userGone,
      },
    ]);
  }

  /** Marks an author as fanned in on read from now on (sticky; once). False when it was already. */
  markFanIn(authorId: string): Promise<boolean> {
    return this.setFlagOnce(Keys.followCounts(authorId), 'fanIn');
  }

  /**
   * Records on the follow edge that its author was left out of the reader's full fan-in set
   * (`fanInSetFull`), once per edge: false when a handling of the same edge did before (a record
   * delivered or replayed again, a promotion step run again) or the edge is gone (unfollowed). What
   * `feed_fan_in_set_full_total` counts. A follow made again is a new edge, counted again.
   */
  markFanInSetFull(followerId: string, authorId: string): Promise<boolean> {
    return this.setFlagOnce(Keys.follow(followerId, authorId), 'fanInSetFull');
  }

  /** `SET <attribute> = true` on an existing item where it is unset: false when it was set, or the item is gone. */
  private async setFlagOnce(key: ItemKey, attribute: 'fanIn' | 'fanInSetFull'): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #flag = :yes',
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#flag)',
          ExpressionAttributeNames: { '#flag': attribute },
          ExpressionAttributeValues: { ':yes': true },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Adds a fan-in author to a follower's set, on condition that the follow still exists (a
   * record handled after an unfollow adds nothing: `edgeGone`) and that the set is under
   * MAX_FAN_IN_AUTHORS (`full`, nothing written: the feed merges at most that many authors, so one
   * more would be dropped on read anyway: that reader's feed lacks the author's posts until they
   * unfollow another fan-in author).
   */
  async addFanInAuthor(followerId: string, authorId: string): Promise<'added' | 'edgeGone' | 'full'> {
    try {
      const added = await this.edgeWrite([
        {
          item: this.exists(Keys.follow(followerId, authorId)),
          onConditionFailed: edgeGone,
        },
        {
          item: {
            Update: {
              TableName: this.tableName,
              Key: Keys.followCounts(followerId),
              UpdateExpression: 'ADD fanInAuthors :author',
              // The set's cap holds here as in a follow's transaction (a set already holding the
              // author is no change).
              ConditionExpression:
                'attribute_exists(PK) AND (attribute_not_exists(fanInAuthors) OR size(fanInAuthors) < :maxFanIn OR contains(fanInAuthors, :authorId))',
              ExpressionAttributeValues: {
                ':author': new Set([authorId]),
                ':authorId': authorId,
                ':maxFanIn': MAX_FAN_IN_AUTHORS,
              },
            },
          },
          onConditionFailed: () => new FanInSetFull(),
        },
      ]);
      return added ? 'added' : 'edgeGone';
    } catch (error) {
      if (error instanceof FanInSetFull) return 'full';
      throw error;
    }
  }

  /** A page of an author's followers, newest first: one index Query, one BatchGetItem of the users (and the author). */
  followersPage(authorId: string, limit: number, cursor?: string): Promise<FollowPage> {
    return this.edgePage(INDEX_PATTERNS.followers.index, FollowIndexKeys.followers(authorId), authorId, limit, cursor);
  }

  /** A page of the users someone follows, newest first: one index Query, one BatchGetItem. */
  followingPage(followerId: string, limit: number, cursor?: string): Promise<FollowPage> {
    return this.edgePage(
      INDEX_PATTERNS.following.index,
      FollowIndexKeys.following(followerId),
      followerId,
      limit,
      cursor,
    );
  }

  /**
   * Every follower of an author, a page of ids at a time (GSI1, keys only): what the stream
   * processor fans out to. Memory stays at one page however many followers there are.
   */
  async forEachFollowerPage(authorId: string, each: (followerIds: string[]) => Promise<void>): Promise<void> {
    await this.forEachEdgePage(INDEX_PATTERNS.followers.index, FollowIndexKeys.followers(authorId), 'followerId', each);
  }

  /**
   * Up to `limit` followers of an author after `after` (GSI1, keys only), and where the next page
   * starts (absent at the end): a step of a resumable walk (the fan-in promotion's job keeps it).
   */
  followerIdsPage(authorId: string, limit: number, after?: Item): Promise<{ ids: string[]; after?: Item }> {
    return this.edgeIdsPage(
      INDEX_PATTERNS.followers.index,
      FollowIndexKeys.followers(authorId),
      'followerId',
      limit,
      after,
    );
  }

  /** Every user someone follows, a page of ids at a time (GSI2): the erasure cascade. */
  async forEachFollowingPage(followerId: string, each: (authorIds: string[]) => Promise<void>): Promise<void> {
    await this.forEachEdgePage(INDEX_PATTERNS.following.index, FollowIndexKeys.following(followerId), 'authorId', each);
  }

  /**
   * Removes one edge of an erased user and counts it down on the other user's counter item only
   * (the erased user's own counter item goes with their partition). If the other user's counter
   * item is gone too (erased as well), the edge is deleted alone. Safe to run twice.
   */
  async removeEdgeOfErased(
    followerId: string,
    authorId: string,
    survivor: { userId: string; counter: 'followerCount' | 'followingCount' },
  ): Promise<void> {
    const deleteEdge: TransactItem = {
      Delete: {
        TableName: this.tableName,
        Key: Keys.follow(followerId, authorId),
        ConditionExpression: 'attribute_exists(PK)',
      },
    };
    const fanInChange = survivor.counter === 'followingCount' ? { drop: authorId } : undefined;
    const countDown = withCondition(
      this.countChange(survivor.userId, survivor.counter, -1, fanInChange),
      'attribute_exists(PK)',
    );
    try {
      await transactWrite(this.db, [
        { item: deleteEdge, onConditionFailed: edgeGone },
        { item: countDown, onConditionFailed: () => new SurvivorGoneError() },
      ]);
    } catch (error) {
      if (error instanceof EdgeGoneError) return;
      if (!(error instanceof SurvivorGoneError)) throw error;
      await transactWrite(this.db, [{ item: deleteEdge, onConditionFailed: edgeGone }]).catch((e: unknown) => {
        if (!(e instanceof EdgeGoneError)) throw e;
      });
    }
  }

  /** Runs a transaction on a follow edge: false when the edge's condition failed (nothing written). */
  private async edgeWrite(operations: TransactOperation[]): Promise<boolean> {
    try {
      await transactWrite(this.db, operations);
      return true;
    } catch (error) {
      if (error instanceof EdgeGoneError) return false;
      throw error;
    }
  }

  private exists(key: ItemKey): TransactItem {
    return { ConditionCheck: { TableName: this.tableName, Key: key, ConditionExpression: 'attribute_exists(PK)' } };
  }

  /** `ADD <counter> :delta` on a user's counter item (created by the first follow), with a fan-in author added or dropped. */
  private countChange(
    userId: string,
    counter: 'followerCount' | 'followingCount',
    delta: number,
    fanInAuthor?: { add: string } | { drop: string },
  ): TransactItem {
    const author = fanInAuthor && ('add' in fanInAuthor ? fanInAuthor.add : fanInAuthor.drop);
    const setChange = !fanInAuthor
      ? ''
      : 'add' in fanInAuthor
        ? ', fanInAuthors :author'
        : ' DELETE fanInAuthors :author';
    return {
      Update: {
        TableName: this.tableName,
        Key: Keys.followCounts(userId),
        UpdateExpression: `SET entity = :entity ADD #counter :delta${setChange}`,
        ExpressionAttributeNames: { '#counter': counter },
        ExpressionAttributeValues: {
          ':delta': delta,
          ':entity': ENTITY.FollowCounts,
          ...(author ? { ':author': new Set([author]) } : {}),
        },
      },
    };
  }

  private async edgePage(
    index: EdgeIndex,
    partition: string,
    ownerId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<FollowPage> {
    const gsi = GSI[index];
    const scope = `${gsi.name}|${partition}`;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: gsi.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': gsi.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: this.cursors.decode(cursor, scope),
      }),
    );
    const other = index === INDEX_PATTERNS.followers.index ? 'followerId' : 'authorId';
    const edges = (result.Items ?? []).map((item) => ({
      userId: item[other] as string,
      followedAt: item.followedAt as string,
    }));
    const items = await batchGetAll(this.db, this.tableName, [
      Keys.user(ownerId),
      ...edges.map((edge) => Keys.user(edge.userId)),
    ]);
    const users = new Map(items.map((item) => [item.id as string, item]));
    return {
      owner: users.get(ownerId),
      edges,
      users,
      nextCursor: this.cursors.encode(result.LastEvaluatedKey, scope),
    };
  }

  private async forEachEdgePage(
    index: EdgeIndex,
    partition: string,
    attribute: 'followerId' | 'authorId',
    each: (ids: string[]) => Promise<void>,
  ): Promise<void> {
    let after: Item | undefined;
    do {
      const page = await this.edgeIdsPage(index, partition, attribute, undefined, after);
      if (page.ids.length > 0) await each(page.ids);
      after = page.after;
    } while (after);
  }

  /** One page of an edge index (keys only): the other users' ids and the key to start the next page from. */
  private async edgeIdsPage(
    index: EdgeIndex,
    partition: string,
    attribute: 'followerId' | 'authorId',
    limit: number | undefined,
    after: Item | undefined,
  ): Promise<{ ids: string[]; after?: Item }> {
    const gsi = GSI[index];
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: gsi.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': gsi.partitionKey, '#id': attribute },
        ExpressionAttributeValues: { ':pk': partition },
        ProjectionExpression: '#id',
        Limit: limit,
        ExclusiveStartKey: after,
      }),
    );
    return {
      ids: (page.Items ?? []).map((item) => item[attribute] as string),
      ...(page.LastEvaluatedKey ? { after: page.LastEvaluatedKey } : {}),
    };
  }
}

/** The author's fan-in flag changed between the read and the follow's transaction: read again. */
export class FanInChangedError extends Error {
  constructor() {
    super('fan-in flag changed');
    this.name = 'FanInChangedError';
  }
}

/** A transaction update with a condition (and its values) added. */
function withCondition(item: TransactItem, condition: string, values: Record<string, unknown> = {}): TransactItem {
  const update = item.Update!;
  return {
    Update: {
      ...update,
      ConditionExpression: condition,
      ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...values },
    },
  };
}

class SurvivorGoneError extends Error {
  constructor() {
    super('counter item of the other user absent');
    this.name = 'SurvivorGoneError';
  }
}
