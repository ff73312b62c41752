import { ENTITY, Keys } from '../dynamo/keys.js';
import type { Item, ItemMove, ItemSkipped, Migration } from './migration.js';

/** The comment pointers' partition before this migration: their post's (spelled here: it is that layout's). */
const OLD_POINTER_PARTITION = 'POST#';
const OLD_POINTER_PREFIX = 'CMTID#';

/**
 * Issue 15 (200 comments/s on one post): a comment wrote its id pointer in its post's partition
 * (`POST#<postId>`, `CMTID#<commentId>`), 1 WCU there per comment beside the comment itself and
 * the counter item. The code of this version keeps each pointer in a partition of its own
 * (`CMTID#<postId>#<commentId>`, `CMTID`). This moves each pointer of the old layout there, with
 * all its attributes (its GSI6 keys, so its place in its commenter's listing, are unchanged).
 *
 * Each move is one transaction (the copy put where nothing is, the old item deleted on condition
 * it is still there), so a second run changes nothing (a moved pointer no longer matches the
 * filter). Offline: the code of this version reads a comment by id through the new key only, so
 * until it is done a comment not yet moved could not be read, edited, moderated or liked by id;
 * the app refuses to start while it is pending.
 */
export const commentPointerPartitions = {
  version: 10,
  name: 'comment-pointer-partitions',
  description: "each comment pointer moved from its post's partition to its own (CMTID#<postId>#<commentId>)",
  online: false,
  filter: {
    expression: '#entity = :pointer AND begins_with(PK, :old)',
    names: { '#entity': 'entity' },
    values: { ':pointer': { S: ENTITY.CommentPointer }, ':old': { S: OLD_POINTER_PARTITION } },
  },
  migrate(item: Item): ItemMove | ItemSkipped | undefined {
    const [pk, sk] = [item.PK?.S, item.SK?.S];
    if (item.entity?.S !== ENTITY.CommentPointer || !pk?.startsWith(OLD_POINTER_PARTITION)) return undefined;
    const [postId, commentId] = [pk.slice(OLD_POINTER_PARTITION.length), sk?.slice(OLD_POINTER_PREFIX.length)];
    // A pointer the filter matched whose comment id cannot be known: named and counted, not left as done.
    if (!sk?.startsWith(OLD_POINTER_PREFIX) || !postId || !commentId)
      return { skipped: 'a pointer without CMTID#<id>' };
    const key = Keys.commentPointer(postId, commentId);
    return {
      description: `${pk} ${sk}: -> ${key.PK} ${key.SK}`,
      moveTo: { ...item, PK: { S: key.PK }, SK: { S: key.SK } },
      conditionExpression: 'attribute_exists(PK)',
    };
  },
} satisfies Migration;
