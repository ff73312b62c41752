import { Injectable, Logger } from '@nestjs/common';
import { type FeedPost, FeedFanout } from '../../feed/feed-fanout.js';
import type { StreamHandler } from '../stream-handler.js';
import type { Item, ItemChange } from '../../dynamo/stream-record.js';

/** The post as feeds see it in one image: published with a time, or not in feeds. */
function inFeeds(image: Item | undefined): FeedPost | undefined {
  if (!image || image.status !== 'published' || typeof image.publishedAt !== 'string') return undefined;
  return { id: image.id as string, authorId: image.authorId as string, publishedAt: image.publishedAt };
}

const samePlace = (a: FeedPost | undefined, b: FeedPost | undefined) =>
  a?.authorId === b?.authorId && a?.publishedAt === b?.publishedAt;

/**
 * The personal feed's fan-out: when a post summary enters the feeds (published, or scheduled,
 * whose time the feed's read bound handles), it goes into the followers' timelines; when it
 * leaves them (unpublished, archived, deleted, re-timed, its author anonymised), it comes out.
 * Edits that leave the position alone do nothing: the feed reads the summary at page time.
 * Idempotent: puts and deletes of the same keys.
 */
@Injectable()
export class FeedFanoutHandler implements StreamHandler {
  readonly name = 'feed-fanout';
  readonly itemType = 'post' as const;
  private readonly logger = new Logger(FeedFanoutHandler.name);

  constructor(private readonly fanout: FeedFanout) {}

  async handle(change: ItemChange): Promise<void> {
    const before = inFeeds(change.oldImage);
    const after = inFeeds(change.event === 'REMOVE' ? undefined : change.newImage);
    if (samePlace(before, after)) return;
    if (before) await this.fanout.withdrawn(before);
    if (after) {
      const delivery = await this.fanout.published(after);
      this.logger.debug(
        `post ${after.id}: ${delivery.mode === 'fan-out' ? `${delivery.timelines} timelines` : delivery.mode}`,
      );
    }
  }
}
