import { describe, expect, it } from '@jest/globals';
import { Keys } from '../dynamo/keys.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import { countsOf } from './post-counters.js';
import { chunk } from '../dynamo/batch.js';
import { likeShardSnapshot, likeShardVersion } from './like-shards.js';
import {
  FOLD_MAX_SNAPSHOTS,
  foldPlan,
  foldUpdate,
  shardNumber,
  snapshotFoldUpdate,
  snapshotViews,
  viewSnapshot,
} from './view-shards.js';

const change = (
  postId: string,
  shard: number,
  viewCount: number | undefined,
  event: ItemChange['event'] = 'MODIFY',
  extra: Record<string, unknown> = {},
): { change: ItemChange; id: string } => ({
  id: postId,
  change: {
    event,
    key: Keys.postViewShard(postId, shard),
    oldImage: undefined,
    newImage: event === 'REMOVE' ? undefined : { ...Keys.postViewShard(postId, shard), viewCount, ...extra },
    sequenceNumber: '1',
    at: new Date(0),
  },
});

/** What DynamoDB does with a fold's UpdateItem, for the conditions this module writes (not a general evaluator). */
function apply(item: Record<string, number> | undefined, snapshots: Map<number, number>): Record<string, number> {
  const stored = item ?? {};
  const refused = [...snapshots].some(([shard, count]) => (stored[`viewShard${shard}`] ?? 0) > count);
  if (refused) return stored;
  const next = { ...stored };
  for (const [shard, count] of snapshots) next[`viewShard${shard}`] = count;
  return next;
}

describe('view shards: the fold', () => {
  it("coalesces a batch into one write per post, each shard's highest count", () => {
    const plan = foldPlan([
      change('p1', 0, 1),
      change('p1', 3, 1),
      change('p1', 0, 2),
      change('p2', 0, 7),
      change('p1', 0, 3),
    ]);
    expect([...plan.keys()]).toEqual(['p1', 'p2']);
    expect(plan.get('p1')).toEqual(
      new Map([
        [0, 3],
        [3, 1],
      ]),
    );
    expect(plan.get('p2')).toEqual(new Map([[0, 7]]));
  });

  it('leaves out removals and tombstones (a deleted post has nothing to fold)', () => {
    const plan = foldPlan([
      change('p1', 0, undefined, 'REMOVE'),
      change('p1', 1, undefined, 'MODIFY', { deletedAt: '2026-11-27T00:00:00.000Z' }),
      change('p1', 2, 4, 'MODIFY', { deletedAt: '2026-11-27T00:00:00.000Z' }),
    ]);
    expect(plan.size).toBe(0);
  });

  it('counts nothing twice when a batch is delivered again, whole or its older part after a newer one', () => {
    const batch = [change('p1', 0, 1), change('p1', 1, 1), change('p1', 0, 2), change('p1', 1, 2), change('p1', 0, 3)];
    const fold = (item: Record<string, number> | undefined, records: typeof batch) =>
      apply(item, foldPlan(records).get('p1')!);
    const once = fold(undefined, batch);
    expect(snapshotViews(once)).toBe(5);
    expect(snapshotViews(fold(once, batch))).toBe(5);
    expect(snapshotViews(fold(once, batch.slice(0, 2)))).toBe(5);
    // The write's conditions are the ones `apply` stands for: none stored higher, not a tombstone.
    const update = foldUpdate('t', 'p1', new Map([[0, 3]]));
    expect(update.ConditionExpression).toBe(
      'attribute_exists(PK) AND attribute_not_exists(deletedAt) AND (attribute_not_exists(#s0) OR #s0 <= :s0)',
    );
    expect(update.ExpressionAttributeNames).toEqual({ '#s0': 'viewShard0' });
    expect(foldUpdate('t', 'p1', new Map([[0, 3]]), { strict: true }).ConditionExpression).toContain('#s0 < :s0');
    // Created only where none exists (the repository adds the check that the post still does).
    expect(foldUpdate('t', 'p1', new Map([[0, 3]]), { create: true }).ConditionExpression).toBe(
      'attribute_not_exists(PK)',
    );
  });

  it("reads a post's views as the counter item's base plus its shards' snapshots", () => {
    expect(countsOf({ viewCount: 5, viewShard0: 3, viewShard17: 2, likeCount: 1 })).toEqual({
      viewCount: 10,
      likeCount: 1,
      commentCount: 0,
    });
    expect(shardNumber(Keys.postViewShard('p1', 31))).toBe(31);
  });
});

describe('the fold stays within DynamoDB expression limits (review 20a M2)', () => {
  /** DynamoDB refuses an expression string longer than 4 KB (`Expression size has exceeded the maximum allowed size`). */
  const LIMIT = 4096;
  const sizes = (update: ReturnType<typeof snapshotFoldUpdate>) => [
    Buffer.byteLength(update.UpdateExpression),
    Buffer.byteLength(update.ConditionExpression ?? ''),
  ];
  // The most VIEW_COUNTER_SHARDS allows (src/config/app-config.ts), each with a large count.
  const views = Array.from({ length: 100 }, (_, n) => viewSnapshot(n, 1e12));

  it('one update for every view shard at the maximum shard count would pass the limit (why the fold is split)', () => {
    expect(Math.max(...sizes(snapshotFoldUpdate('t', 'p1', views)))).toBeGreaterThan(LIMIT);
  });

  it('an update of FOLD_MAX_SNAPSHOTS snapshots, view or like (with its order attribute), stays under half the limit in every form', () => {
    const likes = Array.from({ length: 100 }, (_, n) => ({
      attribute: likeShardSnapshot(n),
      value: 1e12,
      order: likeShardVersion(n),
      orderValue: 1e12,
    }));
    for (const snapshots of [views, likes]) {
      const parts = chunk(snapshots, FOLD_MAX_SNAPSHOTS);
      expect(parts.map((part) => part.length)).toEqual([32, 32, 32, 4]);
      for (const options of [{}, { create: true }, { strict: true }])
        for (const part of parts)
          for (const size of sizes(snapshotFoldUpdate('t', 'p1', part, options))) expect(size).toBeLessThan(LIMIT / 2);
    }
  });
});
