import { ENTITY, Keys } from '../dynamo/keys.js';
import type { Item, ItemMove, ItemSkipped, Migration } from './migration.js';

/** The like items' partition before this migration: their post's (spelled here: it is that layout's). */
const OLD_LIKE_PARTITION = 'POST#';

/**
 * Issue 15 (2,000 likes/s on one post, exact): a like wrote its item and `likeCount + 1` on the
 * post's counter item, both in the post's partition (4 WCU there per like: 250 likes/s). The code
 * of this version keeps a like in one of its post's like shards (`POSTLIKES#<postId>#<n>`, n from
 * the liker's id) beside that shard's like counter, which the stream folds into the counter item
 * (src/posts/like-shards.ts). This moves each like item of the old layout to its shard, with all its
 * attributes (its place in its user's likes index is unchanged). The counts need nothing: the
 * counter item's `likeCount` (and the summary's older base) stay as the base the shards' snapshots
 * are added to, and an unlike of a moved like takes its shard's count below 0, so the sum stays
 * exact (`db:check-counts` adds the shards to it).
 *
 * Each move is one transaction (the copy put where nothing is, the old item deleted on condition
 * it is still there), so a second run changes nothing (a moved like no longer matches the filter).
 * Offline: the code of this version looks for likes only in the shards, so until it is done a like
 * not yet moved would be liked again (counted twice) and could not be unliked; the app refuses to
 * start while it is pending.
 */
export const likeShards = {
  version: 8,
  name: 'like-shards',
  description: "each like item moved from its post's partition to its like shard (POSTLIKES#<postId>#<n>)",
  online: false,
  filter: {
    expression: '#entity = :like AND begins_with(PK, :old)',
    names: { '#entity': 'entity' },
    values: { ':like': { S: ENTITY.Like }, ':old': { S: OLD_LIKE_PARTITION } },
  },
  migrate(item: Item): ItemMove | ItemSkipped | undefined {
    const [pk, postId, userId] = [item.PK?.S, item.postId?.S, item.userId?.S];
    if (item.entity?.S !== ENTITY.Like || !pk?.startsWith(OLD_LIKE_PARTITION)) return undefined;
    // An old like the filter matched but whose shard cannot be known: named and counted, not left as done.
    if (!postId || !userId) return { skipped: 'a like without postId or userId' };
    const key = Keys.like(postId, userId);
    // The delete is pinned to the likes-index position that was read (review 12, L2): a like whose
    // visibility changed meanwhile (LikeVisibilityHandler) is read again, not moved with a stale copy.
    const gsi2sk = item.GSI2SK?.S;
    return {
      description: `${pk} ${item.SK?.S}: -> ${key.PK} ${key.SK}`,
      moveTo: { ...item, PK: { S: key.PK }, SK: { S: key.SK } },
      conditionExpression:
        gsi2sk === undefined ? 'attribute_exists(PK) AND attribute_not_exists(GSI2SK)' : 'GSI2SK = :gsi2sk',
      values: gsi2sk === undefined ? undefined : { ':gsi2sk': { S: gsi2sk } },
    };
  },
} satisfies Migration;
