/** (post, viewer) pairs one instance remembers at most; the oldest goes first (a Map iterates in insertion order). */
export const RECENT_VIEWERS_MAX = 10_000;

/**
 * The (post, viewer) pairs this instance has seen counted, or refused as counted already, within
 * the view window (review 19c, M1). A repeated view within the window then makes no DynamoDB
 * write at all: without it each repeat sent the marker's conditional `PutItem`, which fails its
 * condition and is still billed (1 WCU on AWS, on-demand one write request unit; DynamoDB Local
 * reports 0), so one address could loop at any rate and cost a write each time.
 *
 * Per instance and bounded (`RECENT_VIEWERS_MAX` pairs, about 1 MB), so it is a guard, not the
 * rule: the marker's condition still decides. A viewer refused by the marker is remembered for a
 * whole window from the refusal (the marker's own expiry is not read back), so on one instance it
 * may wait up to two windows to count again: it undercounts, never overcounts.
 */
export class RecentViewers {
  private readonly entries = new Map<string, number>();

  constructor(private readonly max = RECENT_VIEWERS_MAX) {}

  /** Whether this pair was remembered and has not expired at `now`. */
  has(postId: string, viewer: string, now: Date): boolean {
    const key = `${postId}\n${viewer}`;
    const expiresAt = this.entries.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt > now.getTime()) return true;
    this.entries.delete(key);
    return false;
  }

  /** Remembers the pair until `expiresAt`. */
  remember(postId: string, viewer: string, expiresAt: Date): void {
    const key = `${postId}\n${viewer}`;
    this.entries.delete(key);
    this.entries.set(key, expiresAt.getTime());
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
