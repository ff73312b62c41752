import { ViewBudgets } from './view-budgets.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 28, 3, 0, 0) + seconds * 1000);

describe('ViewBudgets', () => {
  it('grants max views per client per window, then refuses until the next window', () => {
    const budgets = new ViewBudgets({ max: 3, windowSeconds: 3600 });
    expect([1, 2, 3, 4, 5].map((i) => budgets.take('192.0.2.1', at(i)))).toEqual([true, true, true, false, false]);
    // Another client has its own budget.
    expect(budgets.take('2001:db8:1:2::/64', at(6))).toBe(true);
    expect(budgets.take('192.0.2.1', at(3599))).toBe(false);
    // The window is aligned on the epoch (03:00 to 04:00 here): the next one starts anew.
    expect(budgets.take('192.0.2.1', at(3600))).toBe(true);
  });

  it('takes nothing with a refusal: the budget is the views counted, not the views asked for', () => {
    const budgets = new ViewBudgets({ max: 2, windowSeconds: 60 });
    budgets.take('a', at(0));
    budgets.take('a', at(1));
    for (let i = 0; i < 10; i++) expect(budgets.take('a', at(2))).toBe(false);
    expect(budgets.take('a', at(60))).toBe(true);
    expect(budgets.take('a', at(61))).toBe(true);
    expect(budgets.take('a', at(62))).toBe(false);
  });

  it('is off with max 0', () => {
    const budgets = new ViewBudgets({ max: 0, windowSeconds: 60 });
    for (let i = 0; i < 100; i++) expect(budgets.take('a', at(0))).toBe(true);
  });

  it('keeps at most maxClients, forgetting the one that counted least recently', () => {
    const budgets = new ViewBudgets({ max: 2, windowSeconds: 3600 }, 2);
    expect(budgets.take('a', at(0))).toBe(true);
    expect(budgets.take('b', at(1))).toBe(true);
    expect(budgets.take('a', at(2))).toBe(true);
    // a is spent; its refusals are no use of the budget, so b is still the more recent.
    expect(budgets.take('b', at(3))).toBe(true);
    expect(budgets.take('a', at(4))).toBe(false);
    // A third client: a counted least recently (at 2) and is forgotten, b (at 3) is kept.
    expect(budgets.take('c', at(5))).toBe(true);
    expect(budgets.take('b', at(6))).toBe(false);
    expect(budgets.take('a', at(7))).toBe(true);
  });
});
