import { DomainError } from '../common/errors/domain-error.js';
import { assertVersion } from '../common/errors/version-mismatch.js';
import { compositeEtagOf, etagOf, parseIfMatch } from './etag.js';

describe('ETag helpers', () => {
  it('quotes versions and parses them back', () => {
    expect(etagOf(3)).toBe('"3"');
    expect(parseIfMatch('"3"')).toBe(3);
    expect(parseIfMatch('W/"12"')).toBe(12);
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('*')).toBeUndefined();
  });

  it('refuses an If-Match that names no version with 400', () => {
    for (const bad of ['3', '"abc"', '"1", "2"', '']) {
      expect(() => parseIfMatch(bad)).toThrow(DomainError);
    }
  });

  it('refuses a stale version with 412', () => {
    expect(assertVersion(undefined, 4)).toBe(4);
    expect(assertVersion(4, 4)).toBe(4);
    expect(() => assertVersion(3, 4)).toThrow(
      expect.objectContaining({ status: 412, code: 'version_mismatch' }) as DomainError,
    );
  });
});

describe('ETag helpers: the exact forms', () => {
  it('joins the versions of a composite read with dots', () => {
    expect(compositeEtagOf(3, 1)).toBe('"3.1"');
    expect(compositeEtagOf(7)).toBe('"7"');
  });

  it('allows whitespace around the ETag and around `*`, nothing else', () => {
    expect(parseIfMatch('  "5"  ')).toBe(5);
    expect(parseIfMatch(' * ')).toBeUndefined();
    for (const bad of ['x"5"', '"5"x', 'W/ "5"', '"5" "6"', '"1234567890123"']) {
      expect(() => parseIfMatch(bad)).toThrow(
        expect.objectContaining({
          status: 400,
          code: 'invalid_if_match',
          message: 'If-Match must be one ETag of this resource, e.g. "3".',
        }) as DomainError,
      );
    }
    expect(parseIfMatch('"123456789012"')).toBe(123456789012);
  });

  it('tells a stale writer to fetch the resource again', () => {
    expect(() => assertVersion(1, 2)).toThrow('The resource changed since you read it; fetch it again.');
  });
});
