import type { ItemChange } from '../dynamo/stream-record.js';
import { shardNumber, type ShardSnapshot } from './view-shards.js';

/**
 * The fold plan of counter shards that go down as well as up (the like shards, the comment
 * shards): each change raises the shard's `version`, and the fold stores the count at the newest
 * version beside it, written only over an older one (src/posts/like-shards.ts explains why).
 */
export interface VersionedShards {
  /** The counter attribute on the shard item (`likeCount`, `commentCount`). */
  counter: string;
  /** The snapshot attribute of shard `n` on the counter item, and the attribute of its version. */
  snapshot: (shard: number) => string;
  version: (shard: number) => string;
}

/**
 * Per post, each shard's count at its newest version in these changes: what one fold writes.
 * Removals and tombstones are not counts.
 */
export function versionedFoldPlan(
  shards: VersionedShards,
  changes: readonly { change: ItemChange; id: string }[],
): Map<string, ShardSnapshot[]> {
  const newest = new Map<string, Map<number, { count: number; version: number }>>();
  for (const { change, id } of changes) {
    const count: unknown = change.newImage?.[shards.counter];
    const version: unknown = change.newImage?.version;
    const shard = shardNumber(change.key);
    if (change.event === 'REMOVE' || change.newImage?.deletedAt !== undefined) continue;
    if (typeof count !== 'number' || typeof version !== 'number' || shard === undefined || !id) continue;
    const byShard = newest.get(id) ?? new Map<number, { count: number; version: number }>();
    if (version > (byShard.get(shard)?.version ?? -Infinity)) byShard.set(shard, { count, version });
    newest.set(id, byShard);
  }
  const plan = new Map<string, ShardSnapshot[]>();
  for (const [postId, byShard] of newest)
    plan.set(
      postId,
      [...byShard].map(([shard, { count, version }]) => ({
        attribute: shards.snapshot(shard),
        value: count,
        order: shards.version(shard),
        orderValue: version,
      })),
    );
  return plan;
}

/** The sum of a counter item's snapshot attributes matching `snapshot` (`/^ls\d+$/`, `/^cs\d+$/`). */
export function snapshotSum(item: Record<string, unknown> | undefined, snapshot: RegExp): number {
  if (!item) return 0;
  let sum = 0;
  for (const [name, value] of Object.entries(item)) if (snapshot.test(name) && typeof value === 'number') sum += value;
  return sum;
}
