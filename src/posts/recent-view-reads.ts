import { isLive } from './post.entity.js';
import type { SummaryRead } from './posts.repository.js';

/** Posts one instance remembers at most; the oldest goes first (a Map iterates in insertion order). */
const MAX_ENTRIES = 1000;

/**
 * What the view and like paths read of a live post (its summary and counter item), remembered per
 * instance for `VIEW_READ_CACHE_SECONDS` (issue 15). A view or a like must know that the post is
 * live, and answers the count read plus itself; read on every one, that is 1-2 RCU on the post's own
 * partition each, so one post could take at most 1,500-3,000 views and likes/s before its
 * partition's 3,000 RCU/s. Remembered for a second, each instance reads it once a second whatever
 * the rate (10 instances: 10 reads/s).
 *
 * Only a live post is remembered (a draft just published is counted at once). The price: for up to
 * that long a view may be counted on a post just withdrawn (a deleted post's view fails on its
 * shard's tombstone, or the cascade overwrites it), a like made on it (the stream's like-place
 * check hides it; a deleted post's cascade removes it), and the answer misses counts folded meanwhile.
 */
export class RecentViewReads {
  private readonly entries = new Map<string, { read: SummaryRead; expiresAt: number }>();

  constructor(private readonly seconds: number) {}

  async get(postId: string, now: Date, load: () => Promise<SummaryRead | undefined>): Promise<SummaryRead | undefined> {
    if (this.seconds <= 0) return load();
    const hit = this.entries.get(postId);
    if (hit && hit.expiresAt > now.getTime()) return hit.read;
    const read = await load();
    this.entries.delete(postId);
    if (read && isLive(read.summary, now)) {
      this.entries.set(postId, { read, expiresAt: now.getTime() + this.seconds * 1000 });
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    }
    return read;
  }

  /**
   * A like or unlike this instance wrote: the remembered read counts it, so the next like's answer
   * (the count read plus itself) has it (review 12, M3: without it a like within the same second
   * answered the count without the one before it).
   */
  countLike(postId: string, delta: 1 | -1): void {
    const hit = this.entries.get(postId);
    if (!hit) return;
    const counts = { ...hit.read.counts, likeCount: hit.read.counts.likeCount + delta };
    this.entries.set(postId, { ...hit, read: { ...hit.read, counts } });
  }
}
