import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/**
 * Rules for identifiers people read (slugs, usernames, tag and category names), so that two
 * that look the same are the same. See "Identifiers people read" in docs/data-model.md.
 *
 * 1. NFKC: compatibility forms become their plain letters (fullwidth `ａｄａ` is `ada`, the `ﬁ`
 *    ligature is `fi`) before anything compares or stores them.
 * 2. No invisible code points: Unicode's Default_Ignorable_Code_Point set (zero-width spaces and
 *    joiners, bidi controls, variation selectors, the Hangul fillers U+115F, U+1160, U+3164,
 *    U+FFA0, soft hyphen...) and the blank-looking U+2800 BRAILLE PATTERN BLANK are refused.
 * 3. Single script (slugs and usernames; Unicode TR39 section 5.1): all characters must share
 *    one script, Common (digits, hyphen) and Inherited (combining marks) going with any. Han goes
 *    with Hiragana and Katakana (Japanese), with Hangul (Korean) and with Bopomofo, as TR39's
 *    augmented script sets say. So `pаypal` with a Cyrillic `а` is refused; `привет-мир` and
 *    `日本語のタイトル` are fine.
 */

/** Default-ignorable code points and fillers that render as nothing or as blank space. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800\u115F\u1160\u3164\uFFA0]/u;
const INVISIBLE_GLOBAL = new RegExp(INVISIBLE.source, 'gu');

/** The scripts told apart; a letter of any other script counts as one "other" script. */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Nko',
  'Samaritan',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Canadian_Aboriginal',
  'Ogham',
  'Runic',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
  'Yi',
  'Tifinagh',
  'Vai',
  'Javanese',
  'Balinese',
  'Sundanese',
  'Tagalog',
  'Coptic',
  'Glagolitic',
  'Adlam',
] as const;
const SCRIPT_PATTERNS = SCRIPTS.map((name) => ({ name, pattern: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }));
const COMMON_OR_INHERITED = /[\p{Script=Common}\p{Script=Inherited}]/u;

/** TR39 augmented script sets: a Han character also stands for Japanese, Korean and Han+Bopomofo text. */
const AUGMENTED: Record<string, string[]> = {
  Han: ['Han', 'Jpan', 'Kore', 'Hanb'],
  Hiragana: ['Hiragana', 'Jpan'],
  Katakana: ['Katakana', 'Jpan'],
  Hangul: ['Hangul', 'Kore'],
  Bopomofo: ['Bopomofo', 'Hanb'],
};

/** The augmented script set of one character, or undefined for Common/Inherited ones (they go with any). */
function scriptsOf(char: string): Set<string> | undefined {
  const named = SCRIPT_PATTERNS.filter(({ pattern }) => pattern.test(char)).map(({ name }) => name);
  if (named.length === 0) return COMMON_OR_INHERITED.test(char) ? undefined : new Set(['Other']);
  return new Set(named.flatMap((name) => AUGMENTED[name] ?? [name]));
}

/** NFKC-normalises a string (leaves other values alone, so type validation still reports them). */
export const normalizeIdentifier = (value: unknown): unknown =>
  typeof value === 'string' ? value.normalize('NFKC') : value;

/** True when the text contains a default-ignorable or filler code point. */
export const hasInvisible = (text: string): boolean => INVISIBLE.test(text);

/** The text without default-ignorable and filler code points. */
export const withoutInvisible = (text: string): string => text.replace(INVISIBLE_GLOBAL, '');

/** True when all characters share one script (Common and Inherited go with any); TR39 single-script. */
export function isSingleScript(text: string): boolean {
  let common: Set<string> | undefined;
  for (const char of text) {
    const scripts = scriptsOf(char);
    if (!scripts) continue;
    common = common ? new Set([...common].filter((s) => scripts.has(s))) : scripts;
    if (common.size === 0) return false;
  }
  return true;
}

const trimNfkc = (value: unknown): unknown => (typeof value === 'string' ? value.normalize('NFKC').trim() : value);

/** Trims and NFKC-normalises a string input (names). */
export const TrimNfkc = () => Transform(({ value }: { value: unknown }) => trimNfkc(value));

/** `TrimNfkc` for each string of an array input (Conduit's tag names). */
export const TrimNfkcEach = () =>
  Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(trimNfkc) : value));

/** NFKC-normalises, trims and lower-cases a string input (usernames). */
export const TrimNfkcLower = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.normalize('NFKC').trim().toLowerCase() : value,
  );

/** NFKC-normalises a string input (slugs). */
export const Nfkc = () => Transform(({ value }: { value: unknown }) => normalizeIdentifier(value));

/** A property decorator refusing strings for which `ok` is false (other values are left to type rules). */
const stringRule =
  (name: string, message: string, ok: (text: string) => boolean) =>
  (options?: ValidationOptions): PropertyDecorator =>
  (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message, ...options },
      validator: { validate: (value: unknown) => typeof value !== 'string' || ok(value) },
    });

/** Refuses default-ignorable and filler code points. */
export const NoInvisibleCharacters = stringRule(
  'noInvisibleCharacters',
  '$property must not contain invisible or filler characters',
  (text) => !hasInvisible(text),
);

/**
 * A lone UTF-16 surrogate (with the `u` flag a valid pair is one code point and does not match),
 * a C0 control or DEL other than tab, line feed and carriage return, or a C1 control
 * (U+0080-U+009F). DynamoDB stores strings as UTF-8, which cannot encode a lone surrogate, and NUL
 * and other controls break whatever re-encodes or prints the text (mail, webhooks, exports, a
 * terminal reading the logs). C1 controls have no use in text sent as JSON: U+009B is an 8-bit
 * terminal's CSI (what `ESC [` is), U+0085 (NEL) is a line break only to EBCDIC-era software, and
 * the rest mostly arrive as Windows-1252 text decoded as Latin-1 (`\u0093` for a curly quote),
 * which is better refused than stored garbled. Review 19a L5; session 20.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const NOT_PLAIN_TEXT = /[\uD800-\uDFFF\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/** True when the text holds a lone surrogate or a control character other than tab, LF and CR. */
export const hasUnsafeCharacters = (text: string): boolean => NOT_PLAIN_TEXT.test(text);

const NOT_PLAIN_TEXT_EVERY = new RegExp(NOT_PLAIN_TEXT.source, 'gu');

/**
 * Free text stored before `PlainText` made plain (migration 0014): every character that rule
 * refuses replaced by U+FFFD, as `storableHeaderText` replaces a header's, tab, LF and CR kept (free
 * text may hold them). So the author can send the field back unchanged, and sees where something was.
 */
export const plainTextOf = (text: string): string => text.replace(NOT_PLAIN_TEXT_EVERY, '\uFFFD');

/**
 * The same characters dropped instead (migration 0014, where U+FFFD, 3 bytes of UTF-8 for a C0
 * control's 1, would take a field past its API bound in bytes): never longer than the text.
 */
export const withoutUnsafeCharacters = (text: string): string => text.replace(NOT_PLAIN_TEXT_EVERY, '');

// eslint-disable-next-line no-control-regex -- control characters are what it replaces
const NOT_PLAIN_TEXT_ALL = /[\uD800-\uDFFF\u0000-\u001F\u007F-\u009F]/gu;

/**
 * A request header's text made fit to store and show (a session's `User-Agent`, review 20c L2):
 * Node's HTTP parser hands header bytes over as Latin-1, so bytes 0x80-0x9F arrive as C1 controls
 * and a UTF-8 header as mojibake. Read as UTF-8 again (the bytes as sent; invalid sequences become
 * U+FFFD), every control character (tabs and line breaks too: a header has none) and lone
 * surrogate replaced by U+FFFD, cut to `max` UTF-16 units without splitting a pair.
 */
export function storableHeaderText(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  const text = Buffer.from(value, 'latin1').toString('utf8').replace(NOT_PLAIN_TEXT_ALL, '\uFFFD');
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * Refuses lone surrogates and control characters (C0 but tab, LF and CR; DEL; C1) in stored free
 * text: titles, bodies, comments, names, bios, descriptions, URLs (docs/data-model.md, "Free text").
 */
export const PlainText = stringRule(
  'plainText',
  '$property must be well-formed text (no lone surrogates, NUL or other control characters)',
  (text) => !hasUnsafeCharacters(text),
);

/** True when nothing of the text shows: only whitespace and invisible or filler characters (or nothing). */
export const isBlank = (text: string): boolean => withoutInvisible(text).trim() === '';

/**
 * Refuses text that shows nothing (`"   "`, a lone zero-width space) where the text is kept as
 * written (a comment's or a post's body: leading spaces may be Markdown); trimmed fields get this
 * from their length rule.
 */
export const NotBlank = stringRule(
  'notBlank',
  '$property must not be blank (whitespace or invisible characters only)',
  (text) => !isBlank(text),
);

/** Refuses a mix of scripts (TR39 single-script; Common and Inherited allowed with any). */
export const SingleScript = stringRule(
  'singleScript',
  '$property must not mix scripts (e.g. Latin with Cyrillic lookalikes)',
  isSingleScript,
);
