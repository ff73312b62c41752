import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';

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
    const at = now.getTime();
    const times = this.recent.get(postId) ?? [];
    this.recent.delete(postId);
    times.push(at);
    if (times.length > this.maxPerSecond + 1) times.shift();
    this.recent.set(postId, times);
    if (this.recent.size > MAX_POSTS) this.recent.delete(this.recent.keys().next().value!);
    return this.maxPerSecond <= 0 || (times.length > this.maxPerSecond && at - times[0] < WINDOW_MS);
  }

  /**
   * Whether more than `maxPerSecond` writes of the post were recorded in the last second, without
   * recording one (another kind of write asks; at 0: any write in the last second).
   */
  isHot(postId: string, now: Date): boolean {
    const times = this.recent.get(postId);
    return times !== undefined && times.length > this.maxPerSecond && now.getTime() - times[0] < WINDOW_MS;
  }
}

/**
 * This instance's heat of each post for likes and for comments, shared by the posts and comments
 * services (issue 15, review 13 M-b1): a post hot for comments here also sends its likes to the
 * like shards, so that 200 comments/s of 1 KB or 200 replies/s on one post do not meet the direct
 * likes' 200 WCU/s in its partition (10 instances x `LIKE_DIRECT_MAX_PER_SECOND` x 2 WCU):
 * docs/performance.md, "Partition-key heat".
 */
@Injectable()
export class PostWriteHeat {
  private readonly likes: PostHeat;
  private readonly comments: PostHeat;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'likeDirectMaxPerSecond' | 'commentDirectMaxPerSecond'>) {
    this.likes = new PostHeat(config.likeDirectMaxPerSecond);
    this.comments = new PostHeat(config.commentDirectMaxPerSecond);
  }

  /** Records a like or unlike; whether it goes to the shards: the post is hot for likes, or for comments. */
  like(postId: string, now: Date): boolean {
    const hot = this.likes.hot(postId, now);
    return hot || this.comments.isHot(postId, now);
  }

  /** Records a new comment; whether it counts on the shards (and a reply on its parent's pointer). */
  comment(postId: string, now: Date): boolean {
    return this.comments.hot(postId, now);
  }
}
