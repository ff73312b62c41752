import { describe, expect, it } from '@jest/globals';
import { PostHeat, PostWriteHeat } from './like-heat.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 27) + ms);

describe('PostHeat', () => {
  it('lets maxPerSecond likes a second through directly, and the next ones to the shards', () => {
    const heat = new PostHeat(3);
    expect([0, 100, 200, 300, 400].map((ms) => heat.hot('p', at(ms)))).toEqual([false, false, false, true, true]);
  });

  it('cools down once the last second holds at most maxPerSecond likes', () => {
    const heat = new PostHeat(2);
    expect([0, 10, 20].map((ms) => heat.hot('p', at(ms)))).toEqual([false, false, true]);
    // The likes at 10 and 20 are more than a second old at 1,021 ms: with this one, 1 in the window.
    expect(heat.hot('p', at(1021))).toBe(false);
    expect(heat.hot('p', at(1022))).toBe(false);
    expect(heat.hot('p', at(1023))).toBe(true);
  });

  it('counts each post apart', () => {
    const heat = new PostHeat(1);
    expect(heat.hot('p', at(0))).toBe(false);
    expect(heat.hot('q', at(1))).toBe(false);
    expect(heat.hot('p', at(2))).toBe(true);
  });

  it('sends every like to the shards at 0', () => {
    expect(new PostHeat(0).hot('p', at(0))).toBe(true);
  });
});

describe('PostWriteHeat (review 13, M-b1)', () => {
  it("sends a post's likes to the shards while it is hot for comments, without counting them as comments", () => {
    const heat = new PostWriteHeat({ likeDirectMaxPerSecond: 10, commentDirectMaxPerSecond: 2 });
    expect(heat.like('p', at(0))).toBe(false);
    expect([1, 2, 3].map((ms) => heat.comment('p', at(ms)))).toEqual([false, false, true]);
    // Hot for comments: a like goes to the shards, though one like is far below its own bound.
    expect(heat.like('p', at(4))).toBe(true);
    expect(heat.like('q', at(5))).toBe(false);
    // Asking did not record comments: a second after the third the post is quiet for both again.
    expect(heat.like('p', at(1004))).toBe(false);
    expect(heat.comment('p', at(1005))).toBe(false);
  });

  it('at COMMENT_DIRECT_MAX_PER_SECOND=0 (as the README says): every comment is hot, and likes go to the shards for a second after one', () => {
    const heat = new PostWriteHeat({ likeDirectMaxPerSecond: 10, commentDirectMaxPerSecond: 0 });
    // Never commented on here: its likes are direct.
    expect(heat.like('p', at(0))).toBe(false);
    expect([1, 2].map((ms) => heat.comment('p', at(ms)))).toEqual([true, true]);
    expect(heat.like('p', at(1001))).toBe(true);
    expect(heat.like('q', at(1001))).toBe(false);
    // A second after its last comment, its likes are direct again.
    expect(heat.like('p', at(1002))).toBe(false);
  });

  it('peeks without recording (isHot)', () => {
    const heat = new PostHeat(1);
    expect(heat.isHot('p', at(0))).toBe(false);
    heat.hot('p', at(0));
    expect(heat.isHot('p', at(1))).toBe(false);
    heat.hot('p', at(2));
    expect(heat.isHot('p', at(3))).toBe(true);
    expect(heat.isHot('p', at(1002))).toBe(false);
    // At 0 every write is hot, and the post is hot for a second after any.
    const none = new PostHeat(0);
    expect(none.isHot('p', at(0))).toBe(false);
    expect(none.hot('p', at(0))).toBe(true);
    expect(none.isHot('p', at(999))).toBe(true);
    expect(none.isHot('p', at(1000))).toBe(false);
  });
});
