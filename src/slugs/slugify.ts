import { withoutInvisible } from '../common/validation/identifiers.js';

/** The longest slug we generate or accept. */
export const MAX_SLUG_LENGTH = 100;

/** Lower-case letters and digits of any script, joined by single hyphens. */
export const SLUG_PATTERN = /^[\p{Ll}\p{Lo}\p{Lm}\p{N}]+(?:-[\p{Ll}\p{Lo}\p{Lm}\p{N}]+)*$/u;

/**
 * A URL slug from any text, Unicode-aware: accents are dropped ("Café déjà vu" ->
 * "cafe-deja-vu"), letters of other scripts are kept ("Привет мир" -> "привет-мир"), and
 * everything else becomes a single hyphen. Returns '' when nothing usable is left.
 */
export function slugify(text: string): string {
  const slug = withoutInvisible(text.normalize('NFKC'))
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/[æÆ]/g, 'ae')
    .replace(/[øØ]/g, 'o')
    .replace(/[łŁ]/g, 'l')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return truncate(slug, MAX_SLUG_LENGTH);
}

/** The slug with a numeric suffix (`-2`, `-3`...), still within the length limit. */
export function withSuffix(slug: string, n: number): string {
  const suffix = `-${n}`;
  return `${truncate(slug, MAX_SLUG_LENGTH - suffix.length)}${suffix}`;
}

function truncate(slug: string, max: number): string {
  const chars = [...slug];
  return chars.length <= max ? slug : chars.slice(0, max).join('').replace(/-+$/, '');
}
