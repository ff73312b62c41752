/**
 * Paces bulk work (imports, migrations) to a capacity budget in units per second, so that it
 * leaves the table's throughput to the live service: `take(estimate)` before a call waits until
 * the budget allows it, and `settle(estimate, actual)` after the call corrects the estimate with
 * what DynamoDB reported (GSI writes included). No budget means no waiting.
 */
export class CapacityLimiter {
  /** The time (ms) from which the next call may go. */
  private next = 0;

  constructor(
    private readonly unitsPerSecond: number | undefined,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async take(units: number): Promise<void> {
    if (!this.unitsPerSecond) return;
    const now = this.now();
    const start = Math.max(now, this.next);
    this.next = start + (units / this.unitsPerSecond) * 1000;
    if (start > now) await this.sleep(start - now);
  }

  settle(estimated: number, actual: number): void {
    if (!this.unitsPerSecond || actual <= 0) return;
    this.next += ((actual - estimated) / this.unitsPerSecond) * 1000;
  }
}
