import type { RateRule } from '../config/app-config.js';

/** Clients one instance keeps a budget for at most in a window; the least recently counting goes first. */
export const VIEW_BUDGETS_MAX = 10_000;

/**
 * Counted views per client per window, on this instance (VIEW_RATE_MAX_PER_CLIENT per
 * VIEW_RATE_WINDOW_SECONDS): past it a view is served but not counted. The once-per-post-per-hour
 * marker bounds repeats; without this, one client (an IPv4 address, an IPv6 /64: `clientSubject`)
 * counted a view on every post there is, each 2 WCU. In memory, not in DynamoDB, so a view costs
 * no write more: the budget is per instance (N instances, N budgets), and bounded
 * (`VIEW_BUDGETS_MAX` clients, about 1 MB): past that many clients in one window, the one that
 * counted least recently is forgotten and starts anew. Fixed windows aligned on the epoch, as
 * the DynamoDB limits' (src/dynamo/rate-limiter.ts); a new window forgets every count.
 */
export class ViewBudgets {
  private readonly counts = new Map<string, number>();
  private windowStart = Number.NaN;

  constructor(
    private readonly rule: Pick<RateRule, 'max' | 'windowSeconds'>,
    private readonly maxClients = VIEW_BUDGETS_MAX,
  ) {}

  /** Takes one view from the client's budget; false, taking nothing, when it is spent. Always true with max 0 (off). */
  take(client: string, now: Date): boolean {
    if (this.rule.max <= 0) return true;
    const windowMs = this.rule.windowSeconds * 1000;
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    if (start !== this.windowStart) {
      this.counts.clear();
      this.windowStart = start;
    }
    const used = this.counts.get(client) ?? 0;
    if (used >= this.rule.max) return false;
    // Deleted and set again: the Map's insertion order is then the order of last use.
    this.counts.delete(client);
    this.counts.set(client, used + 1);
    if (this.counts.size > this.maxClients) this.counts.delete(this.counts.keys().next().value!);
    return true;
  }
}
