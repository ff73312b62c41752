import { jest } from '@jest/globals';
import type { CategoriesRepository } from './categories.repository.js';
import { PostTaxonomyReads } from './post-taxonomy-reads.js';
import type { TagsRepository } from './tags.repository.js';

function setUp(tagIds: string[], categoryIds: string[]) {
  const tags = {
    findMany: jest.fn((ids: string[]) =>
      Promise.resolve(ids.filter((id) => tagIds.includes(id)).map((id) => ({ id }))),
    ),
  };
  const categories = {
    findById: jest.fn((id: string) => Promise.resolve(categoryIds.includes(id) ? { id } : undefined)),
  };
  const reads = new PostTaxonomyReads(tags as unknown as TagsRepository, categories as unknown as CategoriesRepository);
  return { reads, tags, categories };
}

describe('PostTaxonomyReads', () => {
  it('names the unknown tag ids in the order given, from one batch read; no read for no ids', async () => {
    const { reads, tags } = setUp(['t1', 't3'], []);
    expect(await reads.unknownTagIds(['t4', 't1', 't2', 't3'])).toEqual(['t4', 't2']);
    expect(tags.findMany.mock.calls).toEqual([[['t4', 't1', 't2', 't3']]]);
    expect(await reads.unknownTagIds([])).toEqual([]);
    expect(tags.findMany).toHaveBeenCalledTimes(1);
  });

  it('tells whether a category exists', async () => {
    const { reads } = setUp([], ['c1']);
    expect([await reads.categoryExists('c1'), await reads.categoryExists('c2')]).toEqual([true, false]);
  });
});
