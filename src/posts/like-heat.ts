/** Posts one instance tracks at most; the least recently liked goes first (a Map iterates in insertion order). */
const MAX_POSTS = 1000;
const WINDOW_MS = 1000;

/**
 * Which posts are hot on this instance: liked (or unliked) more than `maxPerSecond` times in the
 * last second (review 12, M3), or commented on (issue 15; one instance per kind of write, each with
 * its setting). A like of a post that is not hot is counted directly on its counter item
 * (`COUNTS`), visible in `likeCount` at once; one of a hot post goes to its like shard, folded by
 * the stream (src/posts/like-shards.ts). So at most instances x `maxPerSecond` direct likes a
 * second reach the post's partition whatever the rate (10 x 10 x 2 WCU = 200 of its 1,000 WCU/s).
 * Comments the same (src/posts/comment-shards.ts): 10 x 5 x 2 WCU = 100 WCU/s at most.
 *
 * Per post, the times of its last `maxPerSecond + 1` writes: the post is hot when the oldest of them
 * is under a second old. 0 sends every write to the shards.
 */
export class PostHeat {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly maxPerSecond: number) {}

  /** Records a write (a like, an unlike, a comment) of `postId` at `now`; whether the post is hot, counting this one. */
  hot(postId: string, now: Date): boolean {
    if (this.maxPerSecond <= 0) return true;
    const at = now.getTime();
    const times = this.recent.get(postId) ?? [];
    this.recent.delete(postId);
    times.push(at);
    if (times.length > this.maxPerSecond + 1) times.shift();
    this.recent.set(postId, times);
    if (this.recent.size > MAX_POSTS) this.recent.delete(this.recent.keys().next().value!);
    return times.length > this.maxPerSecond && at - times[0] < WINDOW_MS;
  }
}
