import { DomainError } from '../errors/domain-error.js';
import { assertVersion, etagOf, parseIfMatch } from './etag.js';

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
