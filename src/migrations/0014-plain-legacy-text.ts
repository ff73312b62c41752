import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { itemSize } from '../admin-tools/dynamodb-json.js';
import { hasUnsafeCharacters, plainTextOf, withoutUnsafeCharacters } from '../common/validation/identifiers.js';
import { ENTITY } from '../dynamo/keys.js';
import { MAX_CONTENT_BYTES } from '../posts/dto/post.dto.js';
import type { Item, ItemSkipped, ItemUpdate, Migration } from './migration.js';

/**
 * The items that hold free text (docs/data-model.md, "Free text": what `PlainText` checks on the way
 * in) and its copies: the user's names; the profile's bio, location, URLs, social links and
 * preferences; a post's title, excerpt and image URL, with its author's display copy, and its
 * content item; the tag and category links' copy of the summary; a comment's content and author
 * copy; a tag's and a category's name, description and icon (and a tag's A-Z index key, which holds
 * its lower-cased name).
 */
const FREE_TEXT_ENTITIES: readonly string[] = [
  ENTITY.User,
  ENTITY.Profile,
  ENTITY.Post,
  ENTITY.PostContent,
  ENTITY.PostLink,
  ENTITY.Comment,
  ENTITY.Tag,
  ENTITY.Category,
];

/**
 * The free text the API bounds in UTF-8 bytes (not only in characters), by entity and attribute:
 * U+FFFD is 3 bytes where a C0 control is 1 and a C1 control 2, so replacing can take such a field
 * past its bound; it then has the characters dropped (review 21b L-e). Every other bound counts
 * characters, which the replacement keeps.
 */
const BYTE_BOUNDS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  [ENTITY.PostContent]: { content: MAX_CONTENT_BYTES },
};

/** DynamoDB's bound on an item (attribute names and values): an update past it fails, and stops the run. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** The value with its strings made plain (`plainTextOf`), at any depth; undefined when none needed it. */
export function plainValueOf(value: AttributeValue): AttributeValue | undefined {
  if (value.S !== undefined) return hasUnsafeCharacters(value.S) ? { S: plainTextOf(value.S) } : undefined;
  if (value.SS !== undefined)
    return value.SS.some(hasUnsafeCharacters) ? { SS: [...new Set(value.SS.map(plainTextOf))] } : undefined;
  if (value.L !== undefined) {
    const plain = value.L.map(plainValueOf);
    return plain.some(Boolean) ? { L: value.L.map((entry, i) => plain[i] ?? entry) } : undefined;
  }
  if (value.M !== undefined) {
    const plain = Object.entries(value.M).map(([name, entry]) => [name, plainValueOf(entry) ?? entry] as const);
    return plain.some(([name, entry]) => entry !== value.M[name]) ? { M: Object.fromEntries(plain) } : undefined;
  }
  return undefined;
}

/**
 * Session 21: free text stored before the `PlainText` rule (session 20) may hold C0 and C1 control
 * characters (a form feed, an ESC, U+009B), written by an older version or `db:import`, which the
 * API serves as they are and refuses when a client sends the field back unchanged. Each such string
 * of an item that holds free text gets the characters replaced by U+FFFD (`plainTextOf`: tab, line
 * feed and carriage return stay), in maps, lists and string sets too. Where U+FFFD would take a field
 * past its API bound in bytes (`BYTE_BOUNDS`: a post's content, 200,000 bytes), the characters are
 * dropped instead; an item the change would take past DynamoDB's 400 KB (imported data) is skipped,
 * named in the run's output, rather than failing the update, which would stop the run.
 *
 * The update is conditioned on every attribute it rewrites still holding the value read, and on the
 * item's `version` where it has one, so an edit that lands first is never overwritten: the runner
 * reads the item again and cleans what the edit left (an edit stores plain text already). The
 * `version` is not raised: the text is the one the author wrote, less what no client can show, and
 * the copies (the links' summary, the author display data) keep matching it; this migration cleans
 * them too. A second run finds nothing to do. Key attributes (`PK`, `SK`) are never rewritten.
 *
 * Online: the code of this version serves such text as the older one did, so the app may run while
 * it is pending (with MIGRATIONS_ALLOW_ONLINE_PENDING=true). A full-table Scan, as every migration.
 */
export const plainLegacyText = {
  version: 14,
  name: 'plain-legacy-text',
  description: 'control characters in free text stored before the PlainText rule replaced by U+FFFD',
  online: true,
  filter: {
    expression: `#entity IN (${FREE_TEXT_ENTITIES.map((_, i) => `:e${i}`).join(', ')})`,
    names: { '#entity': 'entity' },
    values: Object.fromEntries(FREE_TEXT_ENTITIES.map((entity, i) => [`:e${i}`, { S: entity }])),
  },
  migrate(item: Item): ItemUpdate | ItemSkipped | undefined {
    const entity = item.entity?.S ?? '';
    if (!FREE_TEXT_ENTITIES.includes(entity)) return undefined;
    const changes = Object.entries(item)
      .filter(([name]) => name !== 'PK' && name !== 'SK')
      .flatMap(([name, value]) => {
        const plain = plainValueOf(value);
        if (!plain) return [];
        const bound = BYTE_BOUNDS[entity]?.[name];
        if (bound === undefined || value.S === undefined || Buffer.byteLength(plain.S ?? '') <= bound)
          return [{ name, old: value, plain, dropped: false }];
        return [{ name, old: value, plain: { S: withoutUnsafeCharacters(value.S) }, dropped: true }];
      });
    if (changes.length === 0) return undefined;
    const size = itemSize({ ...item, ...Object.fromEntries(changes.map(({ name, plain }) => [name, plain])) });
    if (size > MAX_ITEM_BYTES)
      return {
        skipped: `made plain it would be about ${size} bytes, past DynamoDB's 400 KB item bound (${changes.map((c) => c.name).join(', ')}: shorten or clean by hand)`,
      };
    const replaced = changes.filter((c) => !c.dropped).map((c) => c.name);
    const dropped = changes.filter((c) => c.dropped).map((c) => c.name);
    const what = [
      ...(replaced.length ? [`control characters replaced in ${replaced.join(', ')}`] : []),
      ...(dropped.length
        ? [`control characters dropped in ${dropped.join(', ')} (U+FFFD would pass its byte bound)`]
        : []),
    ];
    const version = item.version?.N !== undefined ? { N: item.version.N } : undefined;
    return {
      description: `${item.PK?.S} ${item.SK?.S}: ${what.join('; ')}`,
      updateExpression: `SET ${changes.map((_, i) => `#a${i} = :n${i}`).join(', ')}`,
      conditionExpression: [
        'attribute_exists(PK)',
        ...changes.map((_, i) => `#a${i} = :o${i}`),
        ...(version ? ['#version = :version'] : []),
      ].join(' AND '),
      names: {
        ...Object.fromEntries(changes.map(({ name }, i) => [`#a${i}`, name])),
        ...(version ? { '#version': 'version' } : {}),
      },
      values: {
        ...Object.fromEntries(
          changes.flatMap(({ old, plain }, i) => [[`:n${i}`, plain] as const, [`:o${i}`, old] as const]),
        ),
        ...(version ? { ':version': version } : {}),
      },
    };
  },
} satisfies Migration;
