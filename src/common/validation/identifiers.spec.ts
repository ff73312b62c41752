import {
  hasInvisible,
  hasUnsafeCharacters,
  plainTextOf,
  isBlank,
  isSingleScript,
  storableHeaderText,
  withoutInvisible,
} from './identifiers.js';
import { slugify } from '../../slugs/slugify.js';

describe('identifier rules', () => {
  it.each([
    ['typescript-6', true],
    ['привет-мир', true],
    ['日本語のタイトル', true],
    ['한국어-漢字', true],
    ['ελληνικά-2', true],
    ['pаypal', false], // Cyrillic а (U+0430) among Latin letters
    ['аpple-store', false],
    ['latin-кириллица', false],
    ['ひらがな-한글', false],
  ])('single script: %s -> %s', (text, expected) => {
    expect(isSingleScript(text)).toBe(expected);
  });

  it('lets combining marks and digits go with any script', () => {
    expect(isSingleScript('cafe\u0301-42')).toBe(true);
    expect(isSingleScript('й-1')).toBe(true);
  });

  it.each([
    ['\u3164', 'HANGUL FILLER'],
    ['\u115F', 'HANGUL CHOSEONG FILLER'],
    ['\uFFA0', 'HALFWIDTH HANGUL FILLER'],
    ['\u200B', 'ZERO WIDTH SPACE'],
    ['\u200D', 'ZERO WIDTH JOINER'],
    ['\u202E', 'RIGHT-TO-LEFT OVERRIDE'],
    ['\u00AD', 'SOFT HYPHEN'],
    ['\uFEFF', 'ZERO WIDTH NO-BREAK SPACE'],
    ['\u2800', 'BRAILLE PATTERN BLANK'],
  ])('finds and removes U+%s (%s)', (char) => {
    expect(hasInvisible(`ad${char}a`)).toBe(true);
    expect(withoutInvisible(`ad${char}a`)).toBe('ada');
  });

  it('keeps invisible characters out of generated slugs, and NFKC-normalises them', () => {
    expect(slugify('Type\u3164Script')).toBe('typescript');
    expect(slugify('ｔｙｐｅｓｃｒｉｐｔ ﬁle')).toBe('typescript-file');
  });

  it.each([
    ['a\ud800b', true, 'lone high surrogate'],
    ['\udfff', true, 'lone low surrogate'],
    ['\udc00\ud800', true, 'surrogates in the wrong order'],
    ['a\u0000', true, 'NUL'],
    ['\u001b[31m', true, 'ESC'],
    ['\u007f', true, 'DEL'],
    ['\u000b\u000c', true, 'vertical tab, form feed'],
    ['\ud83d\udc09 dragon', false, 'a surrogate pair (emoji)'],
    ['a\tb\r\nc\n', false, 'tab, CR, LF'],
    ['\u0080', true, 'C1: the first'],
    ['next\u0085line', true, 'C1: NEL'],
    ['\u009b31m', true, 'C1: CSI'],
    ['\u0093quoted\u0094', true, 'C1: Windows-1252 quotes decoded as Latin-1'],
    ['\u009f', true, 'C1: the last'],
    [
      'café \u00a0 \u00ff \u2028',
      false,
      'no-break space and Latin-1 letters are text; U+2028 is left to the other rules',
    ],
  ])('unsafe characters in free text: %j -> %s (%s)', (text, expected) => {
    expect(hasUnsafeCharacters(text)).toBe(expected);
  });

  it('plainTextOf (migration 0014): what PlainText refuses becomes U+FFFD, tab, CR and LF stay, and the result passes', () => {
    const legacy = 'a\u0000b\u000c\u001b[1m\u007f\u0085\u009b\u009f\tc\r\nd \u{1F600} café\u00a0';
    const plain = plainTextOf(legacy);
    expect(plain).toBe('a\uFFFDb\uFFFD\uFFFD[1m\uFFFD\uFFFD\uFFFD\uFFFD\tc\r\nd \u{1F600} café\u00a0');
    expect(hasUnsafeCharacters(plain)).toBe(false);
    expect(plainTextOf(plain)).toBe(plain);
    expect(plainTextOf('x\ud800y')).toBe('x\uFFFDy');
  });

  it.each([
    ['', true],
    [' \t\r\n', true],
    ['\u00a0\u2003\u3000', true],
    ['\u200b\u200d\ufeff\u2800\u3164', true],
    [' a ', false],
    ['\u200b.', false],
  ])('blank text: %j -> %s', (text, expected) => {
    expect(isBlank(text)).toBe(expected);
  });
});

describe("storableHeaderText (a session's User-Agent, review 20c L2)", () => {
  // What Node's parser gives for the header's bytes: each byte as one Latin-1 character.
  const asParsed = (bytes: number[]) => Buffer.from(bytes).toString('latin1');

  it('keeps an ASCII header as it is, and undefined as undefined', () => {
    expect(storableHeaderText('Mozilla/5.0 (X11; Linux x86_64)', 256)).toBe('Mozilla/5.0 (X11; Linux x86_64)');
    expect(storableHeaderText(undefined, 256)).toBeUndefined();
  });

  it('reads the bytes as UTF-8 again: a UTF-8 header is its text, not mojibake', () => {
    expect(storableHeaderText(asParsed([...Buffer.from('Café/1.0 ☕', 'utf8')]), 256)).toBe('Café/1.0 ☕');
  });

  it('stores no control character: bytes 0x80-0x9F (C1 once parsed) and C0 become U+FFFD', () => {
    const stored = storableHeaderText(asParsed([0x61, 0x9b, 0x32, 0x4a, 0x85, 0x62, 0x01]), 256)!;
    expect(hasUnsafeCharacters(stored)).toBe(false);
    expect(stored).toBe('a\uFFFD2J\uFFFDb\uFFFD');
    expect(storableHeaderText('tab\there', 256)).toBe('tab\uFFFDhere');
  });

  it('cuts at max UTF-16 units without leaving half a pair', () => {
    expect(storableHeaderText('x'.repeat(300), 256)).toHaveLength(256);
    const pairAtTheCut = asParsed([...Buffer.from(`${'x'.repeat(255)}😀`, 'utf8')]);
    expect(storableHeaderText(pairAtTheCut, 256)).toBe('x'.repeat(255));
  });
});
