import { describe, expect, it } from '@jest/globals';
import { HIDDEN_LIKE_PREFIX, isCountedPosition, likePosition } from './like-visibility.js';

const like = { likedAt: '2026-11-20T10:00:00.000Z', postId: 'p1' };

describe('likePosition', () => {
  it('places a like of a live post at its like time', () => {
    expect(likePosition(like, { status: 'published', publishedAt: '2026-11-01T00:00:00.000Z' })).toBe(
      '2026-11-20T10:00:00.000Z#p1',
    );
  });

  it('places a like of a post republished or scheduled after it at the post’s time', () => {
    expect(likePosition(like, { status: 'published', publishedAt: '2026-12-01T00:00:00.000Z' })).toBe(
      '2026-12-01T00:00:00.000Z#p1',
    );
  });

  it('hides a like of a withdrawn or deleted post above every time, uncounted', () => {
    for (const post of [{ status: 'draft' as const }, { status: 'archived' as const }, undefined]) {
      const place = likePosition(like, post);
      expect(place).toBe(`${HIDDEN_LIKE_PREFIX}2026-11-20T10:00:00.000Z#p1`);
      expect(place > '9999').toBe(true);
      expect(isCountedPosition(place)).toBe(false);
    }
    expect(isCountedPosition('2026-11-20T10:00:00.000Z#p1')).toBe(true);
  });
});
