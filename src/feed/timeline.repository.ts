import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll, deletePartition } from '../dynamo/batch.js';
import { type CountedMarker, writeCountedMarkers, writeSharedCounterMarkers } from '../dynamo/counted-markers.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';
import { isExpired } from '../dynamo/expressions.js';
import { ENTITY, Keys, TimelineIndexKeys } from '../dynamo/keys.js';
import { countAll, queryPages } from '../dynamo/pagination.js';
import { putNewWhileOwnerExists } from '../dynamo/transactions.js';
import {
  dayAttribute,
  dayCounterClauses,
  dayInWindow,
  endOfDay,
  timelineEntryTtl,
  updateExpression,
  windowStart,
} from '../posts/feed-days.js';

/** The post a timeline entry stands for: its place in the feed. */
export interface TimelinePost {
  id: string;
  authorId: string;
  publishedAt: string;
}

/**
 * A post in a reader's timeline: just enough to order, filter and fetch it (the summary is read
 * at page time). It expires with its publication day's place in the feed's count window: the end
 * of that day (UTC) plus 30 days (src/posts/feed-days.ts), so entries live 30 to 31 days. Its
 * GSI6 keys name the reader and the author (`TimelineIndexKeys.entry`): an unfollow finds that
 * author's entries there (one more index write per entry, ~1 WCU).
 */
export function toTimelineItem(readerId: string, post: TimelinePost): Record<string, NativeAttributeValue> {
  return {
    ...Keys.timelineEntry(readerId, post.publishedAt, post.id),
    ...TimelineIndexKeys.entry(readerId, post.authorId, post.publishedAt, post.id),
    entity: ENTITY.TimelineEntry,
    postId: post.id,
    authorId: post.authorId,
    ttl: timelineEntryTtl(post.publishedAt),
  };
}

/** A post's place in a feed: the sort position `<publishedAt>#<postId>` is the same in every source. */
export interface FeedCandidate {
  position: string;
  postId: string;
  authorId: string;
  /** A timeline entry past its 30 days that TTL has not deleted yet: it keeps its place, and is not shown. */
  expired?: boolean;
}

export interface CandidatePage {
  candidates: FeedCandidate[];
  /** The source has more below the last candidate. */
  more: boolean;
  /** The last position read (expired entries included), so a page of only expired entries still moves on. */
  lastPosition?: string;
}

/**
 * Readers' timelines (`PK=TIMELINE#<reader>`, `SK=<publishedAt>#<postId>`): written by the stream
 * processor's fan-out, read by the feed. Entries expire 30 days after publication (`ttl`), and
 * reads drop expired ones because TTL deletion lags.
 */
@Injectable()
export class TimelineRepository {
  private readonly logger = new Logger(TimelineRepository.name);

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /**
   * Puts the post into each reader's timeline with `+1` on the reader's count of its publication
   * day (`FEED#DAYS`, on condition that it is there), 50 readers a transaction
   * (`writeCountedMarkers`): an entry there already (a replayed record) is left, and not counted
   * again; a reader erased since the followers index was read gets nothing (their `FEED#DAYS`,
   * made with the account, is deleted before their timeline, and neither is recreated). A post
   * whose day has left the window would be expired at once: nothing is written. A live reader
   * whose `FEED#DAYS` is missing (an account written without it: review 15b M-D1) has it made and
   * gets the entry (`makeMissingDayCounts`). Returns how many entries were new.
   */
  addEntries(readerIds: string[], post: TimelinePost, now: Date): Promise<number> {
    if (!dayInWindow(post.publishedAt, now)) return Promise.resolve(0);
    const readerOf = new Map<CountedMarker, string>();
    const pairs = readerIds.map((readerId) => {
      const pair: CountedMarker = {
        marker: {
          Put: {
            TableName: this.tableName,
            Item: toTimelineItem(readerId, post),
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        counter: this.dayChange(readerId, post.publishedAt, +1, now),
      };
      readerOf.set(pair, readerId);
      return pair;
    });
    return writeCountedMarkers(this.db, pairs, {
      onCounterMissing: (failed) => this.makeMissingDayCounts(failed, (pair) => readerOf.get(pair)!, post.id),
    });
  }

  /**
   * The fan-out's pairs whose `FEED#DAYS` condition failed: one consistent BatchGet of those
   * readers' user items; a reader found there is live and only lacks the item, which is made
   * (empty) and the pair is handed back to be sent again; the others are erased (nothing is
   * written for them). Only on this failure path: the normal fan-out reads no user item.
   *
   * Race-free against erasure: the item is put in one transaction with a ConditionCheck that the
   * user item exists (`putNewWhileOwnerExists`), and an erasure deletes the user item first (its
   * stream record starts `deleteTimeline`, which deletes `FEED#DAYS` and then the timeline). A
   * transaction serialised before that user item delete makes an item the erasure deletes after
   * it; one serialised after fails its check and writes nothing. So an erased reader's
   * `FEED#DAYS` is never made again, whatever the BatchGet saw. The check holds the user item
   * for one transaction (a write of it at that moment gets TransactionConflict), once per such
   * reader, never on the normal path.
   */
  private async makeMissingDayCounts(
    failed: readonly CountedMarker[],
    readerOf: (pair: CountedMarker) => string,
    postId: string,
  ): Promise<CountedMarker[]> {
    const users = await batchGetAll(
      this.db,
      this.tableName,
      failed.map((pair) => Keys.user(readerOf(pair))),
      { consistentRead: true },
    );
    const live = new Set(users.map((user) => String(user.PK)));
    const missing = failed.filter((pair) => live.has(Keys.user(readerOf(pair)).PK));
    for (const pair of missing) {
      const readerId = readerOf(pair);
      await putNewWhileOwnerExists(
        this.db,
        this.tableName,
        { ...Keys.feedDays(readerId), entity: ENTITY.FeedDays },
        Keys.user(readerId),
      );
    }
    const erased = failed.length - missing.length;
    if (missing.length > 0) {
      this.logger.warn(
        `Fan-out of post ${postId}: ${missing.length} live reader(s) had no FEED#DAYS, made now: ${missing.map(readerOf).join(', ')}`,
      );
    }
    if (erased > 0) this.logger.log(`Fan-out of post ${postId}: ${erased} erased reader(s) skipped`);
    return missing;
  }

  /**
   * Removes the post from each reader's timeline with `-1` on the reader's day, for the entries
   * that are there (deleting what is gone counts nothing), on the same condition that `FEED#DAYS`
   * is there (an erasure deletes the reader's `FEED#DAYS` and then their timeline: a `-1` between
   * the two would recreate the counter item). Past the window the day is no longer
   * summed, so the entries (expired, not yet deleted by TTL) go without a count: a batch delete.
   */
  async removeEntries(readerIds: string[], post: { id: string; publishedAt: string }, now: Date): Promise<number> {
    if (!dayInWindow(post.publishedAt, now)) {
      await batchWriteAll(
        this.db,
        this.tableName,
        readerIds.map((readerId) => ({
          DeleteRequest: { Key: Keys.timelineEntry(readerId, post.publishedAt, post.id) },
        })),
      );
      return 0;
    }
    const pairs: CountedMarker[] = readerIds.map((readerId) => ({
      marker: {
        Delete: {
          TableName: this.tableName,
          Key: Keys.timelineEntry(readerId, post.publishedAt, post.id),
          ConditionExpression: 'attribute_exists(PK)',
        },
      },
      counter: this.dayChange(readerId, post.publishedAt, -1, now),
    }));
    return writeCountedMarkers(this.db, pairs);
  }

  /**
   * Takes one author's entries of the window out of the reader's timeline, each with its day's
   * `-1` (review 12, M1), 99 a transaction with one update of the reader's `FEED#DAYS` (the sum of
   * their days), on condition that it is there (review 12, M5: an erased reader's counter item is
   * never written again). Idempotent: an entry gone already counts nothing. Returns how many it
   * removed. Where the entries are found:
   * - `'pair'` (an unfollow): on GSI6 by reader and author (`INDEX_PATTERNS.timelineByAuthor`),
   *   so the Query reads only that author's entries (0.5 RCU when there are none), whatever the
   *   size of the reader's timeline (review 21a, M4: an unfollow read the whole window). An entry
   *   written before the pair keys (before this version) is not there: hidden on read by
   *   `stillShown`, it stays counted in the feed's `articlesCount` until it expires (31 days).
   * - `'window'` (a fan-in promotion, once per follower): a Query of the reader's whole window
   *   filtered on the entry's `authorId`, which also finds entries without the pair keys. Every
   *   entry is read (the filter saves only the transfer): one Query per 1 MB of the window.
   * Either way the entries are found in the reader's own timeline, not from the author's current
   * posts, so an entry whose post has left the author's list since (withdrawn while the author
   * went fan-in, or anonymised by the author's erasure) goes too.
   */
  async removeAuthorEntries(
    readerId: string,
    authorId: string,
    now: Date,
    source: 'pair' | 'window' = 'window',
  ): Promise<number> {
    let removed = 0;
    const pages = queryPages(
      this.db,
      source === 'pair' ? this.pairQuery(readerId, authorId, now) : this.windowQuery(readerId, authorId, now),
    );
    for await (const page of pages) {
      const entries = page.map((item) => {
        const sk = String(item.SK);
        return { SK: sk, day: dayAttribute(sk.slice(0, sk.indexOf('#'))) };
      });
      if (entries.length === 0) continue;
      const { written, stopped } = await writeSharedCounterMarkers(this.db, {
        markers: entries.map((entry) => ({
          Delete: {
            TableName: this.tableName,
            Key: { PK: Keys.timelinePartition(readerId), SK: entry.SK },
            ConditionExpression: 'attribute_exists(PK)',
          },
        })),
        counter: (indexes) => {
          const days = new Map<string, number>();
          for (const index of indexes) days.set(entries[index].day, (days.get(entries[index].day) ?? 0) - 1);
          return this.daysChange(readerId, days, now);
        },
      });
      removed += written;
      if (stopped) break;
    }
    return removed;
  }

  /**
   * The layout version the table was created at (its migration baseline, written once at its
   * creation; 0 for a table older than migrations): one GetItem, 0.5 RCU. The unfollow asks it
   * whether the table can hold entries without GSI6 keys (`FeedFanout.unfollowed`).
   */
  async tableCreatedAtLayout(): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: Keys.migrationBaseline,
        ProjectionExpression: '#version',
        ExpressionAttributeNames: { '#version': 'version' },
      }),
    );
    return Number(Item?.version ?? 0);
  }

  private pairQuery(readerId: string, authorId: string, now: Date) {
    return {
      TableName: this.tableName,
      IndexName: INDEX_PATTERNS.timelineByAuthor.index,
      KeyConditionExpression: 'GSI6PK = :pk AND GSI6SK >= :from',
      ExpressionAttributeValues: {
        ':pk': TimelineIndexKeys.pairPartition(readerId, authorId),
        ':from': windowStart(now),
      },
    };
  }

  private windowQuery(readerId: string, authorId: string, now: Date) {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND SK >= :from',
      FilterExpression: 'authorId = :author',
      ExpressionAttributeValues: {
        ':pk': Keys.timelinePartition(readerId),
        ':from': windowStart(now),
        ':author': authorId,
      },
      ProjectionExpression: 'SK',
    };
  }

  /** The reader's day counter item (`FEED#DAYS`), or undefined when the reader is erased (or it is missing: review 15b M-D1). */
  async dayCounts(readerId: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: Keys.feedDays(readerId) }));
    return result.Item;
  }

  /**
   * How many entries of today sort after `now` (posts scheduled for later today: counted by the
   * day, not shown yet): one `Select: COUNT` Query that reads only those entries.
   */
  scheduledLaterToday(readerId: string, now: Date): Promise<number> {
    return countAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :after AND :end',
      ExpressionAttributeValues: {
        ':pk': Keys.timelinePartition(readerId),
        ':after': `${now.toISOString()}#~`,
        ':end': endOfDay(now),
      },
    });
  }

  private dayChange(readerId: string, publishedAt: string, delta: 1 | -1, now: Date) {
    return this.daysChange(readerId, new Map([[dayAttribute(publishedAt), delta]]), now);
  }

  /**
   * The change of a reader's day counts, on condition that their `FEED#DAYS` is there: it is made
   * with the account (and by migration 0012 for older ones) and deleted by its erasure, so it says
   * the reader exists. Conditioning on the reader's user item instead (a ConditionCheck, review 14
   * L-C2) held that item in the fan-out's transaction: the reader's own writes to it (a rename, an
   * email change) then failed with TransactionConflict (503), and it cost 2 WCU more per KB of user
   * item. No request writes `FEED#DAYS`: only the stream processor, which retries its conflicts.
   */
  private daysChange(readerId: string, days: ReadonlyMap<string, number>, now: Date) {
    const clauses = dayCounterClauses(days, now);
    return {
      Update: {
        TableName: this.tableName,
        Key: Keys.feedDays(readerId),
        UpdateExpression: updateExpression({ add: clauses.add, remove: clauses.remove }),
        ConditionExpression: 'attribute_exists(PK)',
        ...(Object.keys(clauses.values).length > 0 ? { ExpressionAttributeValues: clauses.values } : {}),
      },
    };
  }

  /** Up to `limit` entries below `before`, newest first: one Query. */
  async page(readerId: string, before: string, limit: number, now: Date): Promise<CandidatePage> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND SK < :before',
        ExpressionAttributeValues: { ':pk': Keys.timelinePartition(readerId), ':before': before },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    const items = result.Items ?? [];
    return {
      // Expired entries stay candidates (dropped with the other entries filtered on read), so a
      // page takes its `limit` places of the merged list whatever it shows: offset pages
      // (the Conduit feed) then count places the same way as the skip before them.
      candidates: items.map((item) => ({
        position: item.SK as string,
        postId: item.postId as string,
        authorId: item.authorId as string,
        ...(isExpired(item, now) ? { expired: true } : {}),
      })),
      more: result.LastEvaluatedKey !== undefined,
      lastPosition: items.at(-1)?.SK as string | undefined,
    };
  }

  /**
   * A reader's whole timeline, when the reader's account is erased: their `FEED#DAYS` first (the
   * user cascade deletes it with the partition too; here the order does not depend on the
   * handlers'), then the entries, so a fan-out that commits before the first delete has its entry
   * deleted by the second, and none after it writes anything (its condition fails).
   */
  async deleteTimeline(readerId: string): Promise<number> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: Keys.feedDays(readerId) }));
    return deletePartition(this.db, this.tableName, Keys.timelinePartition(readerId));
  }
}
