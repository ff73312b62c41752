import { CommentIndexKeys, ENTITY } from '../dynamo/keys.js';
import type { Item, ItemSkipped, ItemUpdate, Migration } from './migration.js';

/** The unsharded queue partition of the layout before this migration (spelled here: it is that layout's). */
const OLD_QUEUE = 'MODERATION#pending';

/**
 * Issue 15 ("no hot key", review 13 M-b2): every pending comment of the platform wrote the
 * moderation queue's one GSI1 partition `MODERATION#pending`, about 250 pending comments/s at most
 * (4 WCU each for 1 KB, in a transaction). The code of this version writes it as
 * `MODERATION#pending#<n>`, n from the comment's id (src/dynamo/sharding.ts), and the queue merges
 * the shards; this moves the pending comments written before to their shard (GSI1PK only: the
 * sort key, `<createdAt>#<postId>#<id>`, is unchanged).
 *
 * Each update is conditioned on the comment still holding the old partition, so one moderated
 * meanwhile (its GSI1 keys removed) or rewritten by the app is left, and a second run changes
 * nothing (a moved comment no longer matches the filter). Offline: the queue of this version reads
 * only the shards, so until it is done it misses the comments not yet moved; the app refuses to
 * start while it is pending.
 */
export const shardModerationQueue = {
  version: 11,
  name: 'shard-moderation-queue',
  description: 'pending comments moved from the moderation queue MODERATION#pending to its shard (<partition>#<n>)',
  online: false,
  filter: {
    expression: '#entity = :comment AND GSI1PK = :old',
    names: { '#entity': 'entity' },
    values: { ':comment': { S: ENTITY.Comment }, ':old': { S: OLD_QUEUE } },
  },
  migrate(item: Item): ItemUpdate | ItemSkipped | undefined {
    const s = (name: string) => item[name]?.S;
    if (s('entity') !== ENTITY.Comment || s('GSI1PK') !== OLD_QUEUE) return undefined;
    const [id, postId, createdAt] = [s('id'), s('postId'), s('createdAt')];
    if (!id || !postId || !createdAt) return { skipped: 'a pending comment without id, postId or createdAt' };
    const { GSI1PK } = CommentIndexKeys.moderation({ id, postId, createdAt });
    return {
      description: `${s('PK')} ${s('SK')}: GSI1PK=${GSI1PK}`,
      updateExpression: 'SET GSI1PK = :n',
      conditionExpression: 'attribute_exists(PK) AND GSI1PK = :o',
      values: { ':n': { S: GSI1PK }, ':o': { S: OLD_QUEUE } },
    };
  },
} satisfies Migration;
