import { itemSizeBytes } from './item-size.js';

describe('itemSizeBytes', () => {
  it('counts names and UTF-8 values', () => {
    expect(itemSizeBytes({ a: 'xyz' })).toBe(4);
    expect(itemSizeBytes({ name: 'é' })).toBe(4 + 2);
    expect(itemSizeBytes({ n: 12345 })).toBe(1 + 4);
    expect(itemSizeBytes({ b: true, gone: undefined })).toBe(2);
  });

  it('adds the overhead of lists and maps', () => {
    expect(itemSizeBytes({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    expect(itemSizeBytes({ m: { k: 'v' } })).toBe(1 + 3 + 2 + 1);
  });

  it('grows with the content, so a cap can be checked against it', () => {
    expect(itemSizeBytes({ excerpt: 'x'.repeat(1000) })).toBeGreaterThan(1000);
  });
});
