import { indexUserOwnedItems } from './0001-index-user-owned-items.js';
import { backfillReplyCounts } from './0002-backfill-reply-counts.js';
import { postLinkSummaries } from './0003-post-link-summaries.js';
import { commentPointerIndex } from './0004-comment-pointer-index.js';
import { publishedPostCounters } from './0005-published-post-counters.js';
import { shardListingPartitions } from './0006-shard-listing-partitions.js';
import { likePlaces } from './0007-like-places.js';
import { likeShards } from './0008-like-shards.js';
import { feedDayCounts } from './0009-feed-day-counts.js';
import { commentPointerPartitions } from './0010-comment-pointer-partitions.js';
import { shardModerationQueue } from './0011-shard-moderation-queue.js';
import { feedDaysForEveryUser } from './0012-feed-days-for-every-user.js';
import { webhookDuePartitions } from './0013-webhook-due-partitions.js';
import { plainLegacyText } from './0014-plain-legacy-text.js';
import { heldBackPublications } from './0015-held-back-publications.js';
import type { Migration } from './migration.js';

/**
 * Every migration, in version order. Each lives in its own `NNNN-name.ts` file beside this one;
 * `index.spec.ts` checks that the list and the files agree, and that the last version is
 * `TABLE_LAYOUT_VERSION` (the layout a new table starts at).
 */
export const MIGRATIONS: readonly Migration[] = [
  indexUserOwnedItems,
  backfillReplyCounts,
  postLinkSummaries,
  commentPointerIndex,
  publishedPostCounters,
  shardListingPartitions,
  likePlaces,
  likeShards,
  feedDayCounts,
  commentPointerPartitions,
  shardModerationQueue,
  feedDaysForEveryUser,
  webhookDuePartitions,
  plainLegacyText,
  heldBackPublications,
];
