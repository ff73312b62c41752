import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, deletePartition } from '../dynamo/batch.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { isExpired } from '../dynamo/expressions.js';
import { Keys } from '../dynamo/keys.js';
import { toTimelineItem } from '../follows/follow-items.js';

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
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /** Puts the post into each reader's timeline (a Put is idempotent: a second delivery rewrites the same item). */
  async addEntries(readerIds: string[], post: { id: string; authorId: string; publishedAt: string }): Promise<void> {
    await batchWriteAll(
      this.db,
      this.tableName,
      readerIds.map((readerId) => ({ PutRequest: { Item: toTimelineItem(readerId, post) } })),
    );
  }

  /** Removes the post from each reader's timeline (deleting what is gone is a no-op). */
  async removeEntries(readerIds: string[], post: { id: string; publishedAt: string }): Promise<void> {
    await batchWriteAll(
      this.db,
      this.tableName,
      readerIds.map((readerId) => ({
        DeleteRequest: { Key: Keys.timelineEntry(readerId, post.publishedAt, post.id) },
      })),
    );
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

  /** A reader's whole timeline, when the reader's account is erased. */
  deleteTimeline(readerId: string): Promise<number> {
    return deletePartition(this.db, this.tableName, Keys.timelinePartition(readerId));
  }
}
