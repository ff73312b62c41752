import { RecentViewers } from './recent-viewers.js';

describe('RecentViewers', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

  it('remembers a (post, viewer) pair until it expires, per post and per viewer', () => {
    const viewers = new RecentViewers();
    viewers.remember('p1', 'a', at(3600));
    expect(viewers.has('p1', 'a', at(3599))).toBe(true);
    expect(viewers.has('p1', 'b', at(0))).toBe(false);
    expect(viewers.has('p2', 'a', at(0))).toBe(false);
    expect(viewers.has('p1', 'a', at(3600))).toBe(false);
  });

  it('keeps at most its bound, forgetting the oldest first', () => {
    const viewers = new RecentViewers(2);
    viewers.remember('p1', 'a', at(60));
    viewers.remember('p1', 'b', at(60));
    viewers.remember('p1', 'c', at(60));
    expect(['a', 'b', 'c'].map((who) => viewers.has('p1', who, at(0)))).toEqual([false, true, true]);
  });
});
