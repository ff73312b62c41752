import { describe, expect, it } from '@jest/globals';
import { Keys } from '../dynamo/keys.js';
import type { ItemChange } from '../dynamo/stream-record.js';
import { countsOf } from './post-counters.js';
import { likeCursor, likeFoldPlan, likeShardChange, parseLikeCursor, snapshotLikes } from './like-shards.js';
import { snapshotFoldUpdate } from './view-shards.js';

/** A like counter shard's stream record: its count and version after a like or an unlike. */
const change = (
  postId: string,
  shard: number,
  likeCount: number,
  version: number,
  extra: Record<string, unknown> = {},
): { change: ItemChange; id: string } => ({
  id: postId,
  change: {
    event: version === 1 ? 'INSERT' : 'MODIFY',
    key: Keys.postLikeShard(postId, shard),
    oldImage: undefined,
    newImage: { ...Keys.postLikeShard(postId, shard), likeCount, version, ...extra },
    sequenceNumber: String(version),
    at: new Date(0),
  },
});

type Stored = Record<string, number>;

/**
 * What DynamoDB does with the fold's UpdateItem as written (its own condition clauses and SETs,
 * read from the expression; not a general evaluator): refused when a clause
 * `(attribute_not_exists(#x) OR #x <= :y)` (or `<`) fails, else every `#a = :b` set.
 */
function apply(stored: Stored, update: ReturnType<typeof snapshotFoldUpdate>): Stored {
  const names = update.ExpressionAttributeNames ?? {};
  const values = update.ExpressionAttributeValues ?? {};
  for (const [, name, op, value] of update.ConditionExpression!.matchAll(
    /\(attribute_not_exists\((#\w+)\) OR #\w+ (<=|<) (:\w+)\)/g,
  )) {
    const current = stored[names[name]];
    if (current === undefined) continue;
    const bound = values[value] as number;
    if (op === '<=' ? !(current <= bound) : !(current < bound)) return stored;
  }
  const next = { ...stored };
  for (const [, name, value] of update.UpdateExpression.matchAll(/(#\w+) = (:\w+)/g))
    next[names[name]] = values[value] as number;
  return next;
}

/** Every post's fold of these records into its counter item (one batch). */
const fold = (stored: Stored, records: { change: ItemChange; id: string }[]): Stored =>
  apply(stored, snapshotFoldUpdate('t', 'p1', likeFoldPlan(records).get('p1') ?? []));

describe('like shards: the fold', () => {
  // Shard 0: like (1, v1), like (2, v2), unlike (1, v3). Shard 5: like (1, v1), unlike (0, v2).
  const history = [change('p1', 0, 1, 1), change('p1', 5, 1, 1), change('p1', 0, 2, 2), change('p1', 5, 0, 2)];
  const last = change('p1', 0, 1, 3);

  it("takes each shard's count at its newest version, going down as well as up", () => {
    const plan = likeFoldPlan([...history, last, change('p2', 3, 4, 7)]);
    expect(plan.get('p1')).toEqual([
      { attribute: 'ls0', value: 1, order: 'lv0', orderValue: 3 },
      { attribute: 'ls5', value: 0, order: 'lv5', orderValue: 2 },
    ]);
    expect(plan.get('p2')).toEqual([{ attribute: 'ls3', value: 4, order: 'lv3', orderValue: 7 }]);
    // A tombstone (a deleted post's shard) is no count.
    expect(likeFoldPlan([change('p1', 0, 0, 9, { deletedAt: '2026-11-27T00:00:00.000Z' })]).size).toBe(0);
  });

  it('counts exactly under replays: a batch delivered again, or an older one after a newer one, changes nothing', () => {
    const once = fold(fold({ likeCount: 10 }, history), [last]);
    expect(countsOf(once).likeCount).toBe(11); // the base 10, shard 0 at 1, shard 5 at 0
    // The whole history again, as one batch and record by record.
    expect(countsOf(fold(once, [...history, last])).likeCount).toBe(11);
    let replayed = once;
    for (const record of history) replayed = fold(replayed, [record]);
    expect(countsOf(replayed).likeCount).toBe(11);
    // The older batch alone: shard 0 at 2 (v2) must not come back over 1 (v3) (a fold ordered by
    // the count, as views are, would take it back).
    expect(snapshotLikes(fold(once, history.slice(2, 3)))).toBe(1);
  });

  it("a like's counter change goes to its liker's shard, with its version, refused by a tombstone", () => {
    const like = likeShardChange('t', 'p1', 'user-1', 1).Update!;
    const unlike = likeShardChange('t', 'p1', 'user-1', -1).Update!;
    expect(like.Key).toEqual(unlike.Key);
    expect(like.Key).toEqual(Keys.postLikeShard('p1', Number(Keys.like('p1', 'user-1').PK.split('#').at(-1))));
    expect(like.UpdateExpression).toBe('SET entity = :entity ADD likeCount :delta, version :one');
    expect(like.ConditionExpression).toBe('attribute_not_exists(deletedAt)');
  });

  it('reads where a run over the like shards goes on, and starts over on a cursor of the older layout', () => {
    expect(parseLikeCursor(likeCursor(7, 'LIKE#u1'))).toEqual({ shard: 7, after: 'LIKE#u1' });
    expect(parseLikeCursor(likeCursor(3, ''))).toEqual({ shard: 3, after: '' });
    expect(parseLikeCursor(undefined)).toEqual({ shard: 0 });
    expect(parseLikeCursor('LIKE#u1')).toEqual({ shard: 0 });
  });
});
