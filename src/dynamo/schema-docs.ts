import { ENTITIES, INDEX_PATTERNS } from './schema.js';
import { GSI, TABLE_KEYS, TTL_ATTRIBUTE } from './table.definition.js';

/**
 * Renders the declared schema (src/dynamo/schema.ts, table.definition.ts) as the tables of
 * `docs/data-model.md`, between `<!-- generated: <name> -->` and `<!-- end generated: <name> -->`.
 * `npm run docs:data-model` writes them (formatted by Prettier); with `--check` it fails when the
 * committed document differs.
 */

const code = (text: string | number) => `\`${String(text)}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
const table = (header: string[], rows: string[][]) =>
  [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');

const projectionOf = (index: (typeof GSI)[keyof typeof GSI]) =>
  'projection' in index ? `INCLUDE ${index.projection.map(code).join(', ')}` : 'ALL';

/** The table's key and index attributes, each index with its projection and purpose. */
export function renderAttributes(): string {
  return table(
    ['attribute', 'type', 'role'],
    [
      [code(TABLE_KEYS.partitionKey), 'S', 'partition key'],
      [code(TABLE_KEYS.sortKey), 'S', 'sort key'],
      ...Object.values(GSI).map((index) => [
        `${code(index.partitionKey)}, ${code(index.sortKey)}`,
        `S, ${'sortKeyType' in index ? `**${index.sortKeyType}**` : 'S'}`,
        `index ${code(index.name)} (projection ${projectionOf(index)}): ${index.about}`,
      ]),
      [code(TTL_ATTRIBUTE), 'N', 'epoch seconds; DynamoDB TTL deletes the item some time after (minutes to days)'],
      [code('entity'), 'S', 'item type (`User`, `Post`, ...; the Entities table), for humans and exports'],
    ],
  );
}

/** Every kind of item: its key and, per index, the keys it carries there. */
export function renderEntities(): string {
  return table(
    ['entity', 'PK', 'SK', 'index entries (PK / SK)', 'what'],
    ENTITIES.map((declared) => {
      const indexKeys = declared.indexKeys ?? {};
      const entries = Object.values(GSI)
        .filter((index) => index.partitionKey in indexKeys)
        .map((index) => {
          const sort = indexKeys[index.sortKey];
          return `${index.name}: ${code(indexKeys[index.partitionKey])} / ${sort === undefined ? `\`<${index.sortKey}>\`` : code(sort)}`;
        });
      return [declared.entity, code(declared.key.PK), code(declared.key.SK), entries.join('; ') || '-', declared.about];
    }),
  );
}

/** Every named index Query: its key condition, order, cost and users. */
export function renderIndexPatterns(): string {
  return table(
    ['pattern', 'index', 'key condition', 'order, range', 'calls and cost', 'used by'],
    Object.entries(INDEX_PATTERNS).map(([name, pattern]) => {
      const index = GSI[pattern.index];
      return [
        code(name),
        `${index.name} (${projectionOf(index)})`,
        `${index.partitionKey} = ${code(pattern.partition)}`,
        pattern.sort,
        pattern.cost,
        pattern.usedBy,
      ];
    }),
  );
}

export const GENERATED_SECTIONS: Record<string, () => string> = {
  attributes: renderAttributes,
  entities: renderEntities,
  'index-patterns': renderIndexPatterns,
};

/**
 * The document with every generated section replaced by its rendering (not yet formatted).
 * A marker pair that is missing is an error: the document must keep every section.
 */
export function spliceGenerated(document: string): string {
  let result = document;
  for (const [name, render] of Object.entries(GENERATED_SECTIONS)) {
    const begin = `<!-- generated: ${name} (npm run docs:data-model; do not edit) -->`;
    const end = `<!-- end generated: ${name} -->`;
    const from = result.indexOf(begin);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/data-model.md lacks the markers of the generated ${name} table`);
    result = `${result.slice(0, from + begin.length)}\n\n${render()}\n\n${result.slice(to)}`;
  }
  return result;
}
