/**
 * Write-sharded index partitions (issue 15, "no hot key"). A constant index partition that every
 * registration or event writes (`USERS`, `USERS#STATUS#<status>`, ..., `EVENTS`) is split into
 * `INDEX_SHARDS` partitions `<base>#<n>`, n derived from the item's id: stable, so an item always
 * lives in the same shard number and a role or status change moves it within that number.
 *
 * Sizing (docs/data-model.md, "Sharded listing partitions"): a registration writes each of the
 * four user listing partitions once inside a transaction, 2 WCU for a user item under 1 KB
 * (a transaction doubles every write). 2,000 registrations/s x 2 WCU = 4,000 WCU/s per listing,
 * 4 partitions' worth at DynamoDB's 1,000 WCU/s per partition key. 8 shards put 500 WCU/s on
 * each at the target (a 2x margin for hash unevenness, bursts and larger items), so the
 * ceiling is 8 x 1,000 / 2 = 4,000 registrations/s. Outbound events (2 WCU each, one per
 * registration among others) share the number.
 */
export const INDEX_SHARDS = 8;

/**
 * A post's like shards (issue 15: 2,000 likes/s on one post, exact). A like item and the counter
 * shard that counts it live in partition `POSTLIKES#<postId>#<n>`, n from the liker's id (so an
 * unlike, a like check and the cascade find the like by its key, and an unlike hits the shard its
 * like hit). A like writes its item and its shard's counter in one transaction: 2 + 2 WCU on that
 * partition, so 2,000 likes/s spread over 16 shards are about 125 likes/s and 500 WCU/s on each (a
 * 2x margin for hash unevenness and unlikes); the ceiling is 16 x 1,000 / 4 = 4,000 likes/s.
 * Fixed: a like's shard must not change while it exists (a new count means a migration moving
 * every like).
 */
export const LIKE_SHARDS = 16;

/**
 * A post's comment counter shards (issue 15: 200 comments/s on one post, exact). A comment of a
 * post that is hot on the instance (src/posts/like-heat.ts) counts on one of them
 * (`POSTCOMMENTS#<postId>#<n>`, n from the comment's id) instead of the post's counter item, in
 * the comment's transaction: 2 WCU on that shard, a quarter of them on each, so a shard takes 0.5
 * WCU per comment and the family reaches 1,000 WCU/s a shard at 2,000 comments/s, ten times the
 * target (the comment itself, 2 WCU in the post's partition, is the limit: docs/performance.md).
 * Four rather than one so that concurrent transactions rarely meet on one counter item (DynamoDB
 * cancels one of two that do). Fixed: a comment's shard is not recorded, a count is folded per shard.
 */
export const COMMENT_SHARDS = 4;

/** The shard of an id: FNV-1a (32 bits) of its UTF-8 bytes, modulo the shard count. */
export function shardOf(id: string, shards: number = INDEX_SHARDS): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** One shard's partition key: `<base>#<n>` (`n` may be a placeholder in the declared schema). */
export const shardPartition = (base: string, shard: number | string): string => `${base}#${shard}`;

/** Every shard partition of a base, in shard order. */
export const shardPartitions = (base: string, shards: number = INDEX_SHARDS): string[] =>
  Array.from({ length: shards }, (_, n) => shardPartition(base, n));
