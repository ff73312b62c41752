import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { indexDrift } from './index-drift.js';
import { tableDefinition } from './table.definition.js';

describe('indexDrift', () => {
  const wanted = tableDefinition('t').GlobalSecondaryIndexes!;
  const described = (change: (index: (typeof wanted)[number]) => object = () => ({})): TableDescription => ({
    GlobalSecondaryIndexes: wanted.map((index) => ({ ...index, ...change(index) })),
  });

  it('finds nothing on a table made from the definition, or one that lacks an index', () => {
    expect(indexDrift(described(), wanted)).toEqual([]);
    expect(indexDrift({ GlobalSecondaryIndexes: [] }, wanted)).toEqual([]);
  });

  it('names an index whose projection differs: DynamoDB cannot change it in place', () => {
    const table = described((index) =>
      index.IndexName === 'GSI2'
        ? { Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title', 'id'] } }
        : {},
    );
    expect(indexDrift(table, wanted)).toEqual(['index GSI2 projects INCLUDE (id, title), not ALL']);
  });

  it('names an index whose keys differ', () => {
    const table = described((index) =>
      index.IndexName === 'GSI1' ? { KeySchema: [{ AttributeName: 'GSI1PK', KeyType: 'HASH' }] } : {},
    );
    expect(indexDrift(table, wanted)).toEqual(['index GSI1 has keys GSI1PK:HASH, not GSI1PK:HASH,GSI1SK:RANGE']);
  });
});
