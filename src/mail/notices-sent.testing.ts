/**
 * For unit specs (not built into dist/): the notice markers as NoticesSentRepository's conditions
 * make them: a claim once per user and notice, until it is given back. `used` is open to subclasses
 * whose own writes are once-only too (a mint).
 */
export class MarkerStore {
  readonly used = new Set<string>();

  claim(userId: string, notice: string): Promise<boolean> {
    const key = `${userId}/${notice}`;
    if (this.used.has(key)) return Promise.resolve(false);
    this.used.add(key);
    return Promise.resolve(true);
  }

  release(userId: string, notice: string): Promise<void> {
    this.used.delete(`${userId}/${notice}`);
    return Promise.resolve();
  }
}
