import { ENTITIES, INDEX_PATTERNS } from './schema.js';
import { spliceGenerated } from './schema-docs.js';
import { GSI } from './table.definition.js';

describe('the declared schema', () => {
  it('queries each index pattern where some entity writes that partition key', () => {
    const unserved = Object.entries(INDEX_PATTERNS).filter(([, pattern]) => {
      const attribute = GSI[pattern.index].partitionKey;
      return !ENTITIES.some((entity) => entity.indexKeys?.[attribute] === pattern.partition);
    });
    expect(unserved.map(([name]) => name)).toEqual([]);
  });

  it('gives every index at least one pattern', () => {
    const used = new Set(Object.values(INDEX_PATTERNS).map((pattern) => pattern.index));
    expect(Object.keys(GSI).filter((name) => !used.has(name as keyof typeof GSI))).toEqual([]);
  });
});

describe('spliceGenerated', () => {
  const markers = (name: string, inside: string) =>
    `<!-- generated: ${name} (npm run docs:data-model; do not edit) -->${inside}<!-- end generated: ${name} -->`;

  it('replaces what is between each pair of markers and leaves the rest', () => {
    const document = [
      '# Data model',
      markers('attributes', 'STALE TABLE'),
      'prose',
      markers('entities', ''),
      markers('index-patterns', 'x'),
    ].join('\n');
    const result = spliceGenerated(document);
    expect(result.startsWith('# Data model\n')).toBe(true);
    expect(result).toContain('prose');
    expect(result).not.toContain('STALE TABLE');
    expect(result).toContain('| `GSI6PK`, `GSI6SK` | S, S | index `GSI6` (projection INCLUDE `path`)');
    expect(result).toContain(
      '| CommentPointer | `CMTID#<postId>#<commentId>` | `CMTID` | GSI6: `COMMENTER#<authorId>`',
    );
    expect(result).toContain('| `commenterComments` | GSI6 (INCLUDE `path`) | GSI6PK = `COMMENTER#<authorId>`');
  });

  it('refuses a document that lost a section', () => {
    expect(() => spliceGenerated(markers('attributes', ''))).toThrow(/entities/);
  });
});
