/**
 * For unit specs (not built into dist/): the notice markers as NoticesSentRepository's conditions
 * make them: a claim once per user and notice, until it is given back by the claim that made it.
 * `used` is open to subclasses whose own writes are once-only too (a mint).
 */
export class MarkerStore {
  readonly used = new Set<string>();
  private readonly claims = new Map<string, string>();
  private claimed = 0;

  claim(userId: string, notice: string): Promise<string | undefined> {
    const key = `${userId}/${notice}`;
    if (this.used.has(key)) return Promise.resolve(undefined);
    this.used.add(key);
    const claimId = `claim-${++this.claimed}`;
    this.claims.set(key, claimId);
    return Promise.resolve(claimId);
  }

  release(userId: string, notice: string, claimId: string): Promise<boolean> {
    const key = `${userId}/${notice}`;
    if (this.claims.get(key) !== claimId) return Promise.resolve(false);
    this.used.delete(key);
    this.claims.delete(key);
    return Promise.resolve(true);
  }

  /** An address's claim (review 22a L7), once until given back: the day's window is the real table's. */
  claimForAddress(email: string, kind: string): Promise<string | undefined> {
    return this.claim('address', `${email}/${kind}`);
  }

  releaseForAddress(email: string, kind: string, claimId: string): Promise<boolean> {
    return this.release('address', `${email}/${kind}`, claimId);
  }
}
