import { liveReverts, revertPlan, revertsAfterChange } from './email-reverts.js';

describe('email reverts (the undo links of email changes)', () => {
  const NOW = '2026-11-27T12:00:00.000Z';
  const a = { generation: 1, email: 'a@example.com', expiresAt: '2026-11-30T00:00:00.000Z' };
  const b = { generation: 2, email: 'b@example.com', expiresAt: '2026-12-01T00:00:00.000Z' };
  const c = { generation: 3, email: 'c@example.com', expiresAt: '2026-12-02T00:00:00.000Z' };
  const lapsed = { generation: 1, email: 'z@example.com', expiresAt: NOW };

  it('a lapsed revert is no longer live (expiry at the instant counts as lapsed)', () => {
    expect(liveReverts([lapsed, a], NOW)).toEqual([a]);
    expect(liveReverts(undefined, NOW)).toEqual([]);
  });

  it('a change reserves the address it leaves and drops lapsed reverts, never a live one (review 18b H1)', () => {
    const next = { from: 'b@example.com', generation: 2, expiresAt: b.expiresAt, takeoverGeneration: 0 };
    expect(revertsAfterChange([lapsed, a], NOW, next)).toEqual([a, { ...b, takeoverGeneration: 0 }]);
    expect(revertsAfterChange(undefined, NOW, { ...next, takeoverGeneration: 2 })).toEqual([
      { ...b, takeoverGeneration: 2 },
    ]);
  });

  it("a revert restores its change's address, keeps earlier changes' reverts and undoes later ones", () => {
    expect(revertPlan({ emailReverts: [a, b, c] }, NOW, 2, 'b@example.com')).toEqual({
      target: b,
      kept: [a],
      undone: [c],
    });
    expect(revertPlan({ emailReverts: [a, b, c] }, NOW, 1, 'a@example.com')).toEqual({
      target: a,
      kept: [],
      undone: [b, c],
    });
  });

  it('no plan for a revert no longer pending: another generation or address, or lapsed', () => {
    expect(revertPlan({ emailReverts: [a, b] }, NOW, 3, 'c@example.com')).toBeUndefined();
    expect(revertPlan({ emailReverts: [a, b] }, NOW, 2, 'a@example.com')).toBeUndefined();
    expect(revertPlan({ emailReverts: [lapsed] }, NOW, 1, 'z@example.com')).toBeUndefined();
  });

  it("no plan for a revert made before the account's current admin takeover (review 22a H1)", () => {
    const before = { ...b, takeoverGeneration: 1 };
    const after = { ...c, takeoverGeneration: 2 };
    const account = { emailReverts: [a, before, after], takeoverGeneration: 2 };
    // A revert recorded before generations were (none) counts as made before any takeover.
    expect(revertPlan(account, NOW, 1, 'a@example.com')).toBeUndefined();
    expect(revertPlan(account, NOW, 2, 'b@example.com')).toBeUndefined();
    expect(revertPlan(account, NOW, 3, 'c@example.com')).toEqual({ target: after, kept: [a, before], undone: [] });
    // An account never taken over honours a revert with no generation recorded.
    expect(revertPlan({ emailReverts: [a] }, NOW, 1, 'a@example.com')).toEqual({ target: a, kept: [], undone: [] });
  });
});
