import { SLUG_PATTERN, slugify, withSuffix } from './slugify.js';

describe('slugify', () => {
  it.each([
    ['Café déjà vu', 'cafe-deja-vu'],
    ['  Hello,   World!  ', 'hello-world'],
    ['Straße & Øresund', 'strasse-oresund'],
    ['Æsir æble', 'aesir-aeble'],
    ['Łódź', 'lodz'],
    ['Привет мир', 'привет-мир'],
    ['日本語のタイトル', '日本語のタイトル'],
    ['C++ & TypeScript 6', 'c-typescript-6'],
    ['---', ''],
  ])('%s -> %s', (text, slug) => {
    expect(slugify(text)).toBe(slug);
    if (slug) expect(slug).toMatch(SLUG_PATTERN);
  });

  it('stays within 100 characters, suffix included', () => {
    const long = slugify('word '.repeat(60));
    expect([...long].length).toBeLessThanOrEqual(100);
    expect(long.endsWith('-')).toBe(false);
    const suffixed = withSuffix(long, 12);
    expect([...suffixed].length).toBeLessThanOrEqual(100);
    expect(suffixed).toMatch(/-12$/);
    expect(suffixed).toMatch(SLUG_PATTERN);
  });

  it('refuses upper case, spaces and double hyphens in explicit slugs', () => {
    for (const bad of ['Upper', 'two words', 'a--b', '-a', 'a-', 'a_b']) expect(bad).not.toMatch(SLUG_PATTERN);
  });
});
