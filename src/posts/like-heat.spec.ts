import { describe, expect, it } from '@jest/globals';
import { PostHeat } from './like-heat.js';

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
