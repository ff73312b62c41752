import { GSI } from './table.definition.js';
import { stripInternal } from './items.js';

describe('stripInternal', () => {
  const item = {
    PK: 'POST#p1',
    SK: 'POST',
    GSI1PK: 'FEED#2026-11',
    GSI1SK: '2026-11-27T10:00:00.000Z#p1',
    entity: 'Post',
    ttl: 1_800_000_000,
    id: 'p1',
    title: 'A title',
    likeCount: 0,
    summary: '',
    tagIds: ['t1'],
    deletedAt: null,
  };

  it('drops the keys, every index key, the entity and the ttl, and keeps every other attribute as it is', () => {
    const copy = stripInternal<Record<string, unknown>>({
      ...item,
      ...Object.fromEntries(
        Object.values(GSI).flatMap((index) => [
          [index.partitionKey, 'k'],
          [index.sortKey, 's'],
        ]),
      ),
    });
    expect(copy).toEqual({ id: 'p1', title: 'A title', likeCount: 0, summary: '', tagIds: ['t1'], deletedAt: null });
    expect(copy.tagIds).toBe(item.tagIds);
  });

  it('leaves the item it copies untouched', () => {
    const before = structuredClone(item);
    stripInternal(item);
    expect(item).toEqual(before);
  });
});
