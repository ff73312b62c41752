import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { conflict } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import { SequentialIds } from '../common/ids.js';
import type { SlugService } from '../slugs/slug.service.js';
import { fakeSlugService } from '../slugs/slug-service.testing.js';
import type { CursorCodec } from '../dynamo/cursor.js';
import type { CategoriesRepository } from './categories.repository.js';
import { MAX_CATEGORY_DEPTH } from './category-tree.js';
import type { TagsRepository } from './tags.repository.js';
import type { Category, Tag } from './taxonomy.entity.js';
import { categoryFixture } from './taxonomy.testing.js';
import { TaxonomyService } from './taxonomy.service.js';

const NOW = '2026-05-15T12:00:00.000Z';

const category = categoryFixture;
const tag = (id: string, overrides: Partial<Tag> = {}): Tag => ({
  id,
  name: id,
  slug: id,
  postCount: 0,
  createdAt: NOW,
  updatedAt: NOW,
  version: 1,
  ...overrides,
});

/** The collaborators faked at their tokens: repositories over an in-memory list, the slug service's choice of slug. */
function setUp(categories: Category[] = [], tags: Tag[] = [], treeVersion = 7) {
  const categoriesRepo = {
    all: jest.fn(() => Promise.resolve(categories)),
    tree: jest.fn(() => Promise.resolve({ version: treeVersion, categories })),
    findById: jest.fn((id: string) => Promise.resolve(categories.find((c) => c.id === id))),
    create: jest.fn((_category: Category, _treeVersion: number | undefined, _slugs: unknown) =>
      Promise.resolve(undefined),
    ),
    update: jest.fn((_current: Category, _changes: unknown, _treeVersion: number | undefined, _slugSwap: unknown) =>
      Promise.resolve(undefined),
    ),
    delete: jest.fn(
      (_current: Category, _children: Category[], _moveTo: string | undefined, _treeVersion: number, _slugs: unknown) =>
        Promise.resolve(undefined),
    ),
  };
  const tagsRepo = {
    findById: jest.fn((id: string) => Promise.resolve(tags.find((t) => t.id === id))),
    create: jest.fn((_tag: Tag, _slugs: unknown) => Promise.resolve(undefined)),
    update: jest.fn((_current: Tag, _changes: unknown, _slugs: unknown) => Promise.resolve(undefined)),
    delete: jest.fn((_current: Tag, _slugs: unknown) => Promise.resolve(undefined)),
  };
  const owners = new Map(tags.map((t) => [t.slug, t.id]));
  const slugs = fakeSlugService(owners);
  const service = new TaxonomyService(
    categoriesRepo as unknown as CategoriesRepository,
    tagsRepo as unknown as TagsRepository,
    slugs as unknown as SlugService,
    {} as CursorCodec,
    new SettableClock().set(NOW),
    new SequentialIds('tax'),
  );
  return { service, categoriesRepo, tagsRepo, slugs };
}

describe('TaxonomyService: categories', () => {
  it('creates a category with a new id, the clock and the slug service’s slug', async () => {
    const { service, categoriesRepo } = setUp();
    const created = await service.createCategory({ name: 'Rust Lang' });
    expect(created).toEqual({
      id: 'tax000000000000000001',
      name: 'Rust Lang',
      slug: 'rust-lang',
      description: undefined,
      color: undefined,
      icon: undefined,
      sortOrder: 0,
      parentId: undefined,
      postCount: 0,
      createdAt: NOW,
      updatedAt: NOW,
      version: 1,
    });
    expect(categoriesRepo.create.mock.calls[0][0]).toEqual(created);
  });

  it('a missing category: 404 category_not_found for detail, update and delete', async () => {
    const { service, categoriesRepo } = setUp([category('a')]);
    expect(await refusalOf(() => service.categoryBySlug('nope'))).toBe('404 category_not_found');
    expect(await refusalOf(() => service.updateCategory('nope', { name: 'x' }))).toBe('404 category_not_found');
    expect(await refusalOf(() => service.categoryDeletion('nope'))).toBe('404 category_not_found');
    expect(categoriesRepo.update).not.toHaveBeenCalled();
    expect(categoriesRepo.delete).not.toHaveBeenCalled();
  });

  it('an update with a stale If-Match: 412 version_mismatch, nothing written', async () => {
    const { service, categoriesRepo } = setUp([category('a', { version: 3 })]);
    expect(await refusalOf(() => service.updateCategory('a', { name: 'x' }, 2))).toBe('412 version_mismatch');
    expect(categoriesRepo.update).not.toHaveBeenCalled();
    expect(await refusalOf(() => service.updateCategory('a', { name: 'x' }, 3))).toBe('allowed');
  });

  it('a move under an unknown parent is 422 unknown_parent; under itself or a descendant 409 category_cycle', async () => {
    const tree = [category('root'), category('child', { parentId: 'root' }), category('leaf', { parentId: 'child' })];
    const { service, categoriesRepo } = setUp(tree);
    expect(await refusalOf(() => service.updateCategory('root', { parentId: 'ghost' }))).toBe('422 unknown_parent');
    expect(await refusalOf(() => service.updateCategory('root', { parentId: 'root' }))).toBe('409 category_cycle');
    expect(await refusalOf(() => service.updateCategory('root', { parentId: 'leaf' }))).toBe('409 category_cycle');
    expect(categoriesRepo.update).not.toHaveBeenCalled();
    await service.updateCategory('leaf', { parentId: 'root' });
    // the move commits on condition of the tree's version as read (review 21a M2)
    expect(categoriesRepo.update.mock.calls[0][2]).toBe(7);
    await service.updateCategory('leaf', { parentId: null });
    expect(categoriesRepo.update.mock.calls[1][2]).toBe(7);
  });

  it('a change that is no move does not read the tree nor condition on it', async () => {
    const { service, categoriesRepo } = setUp([category('a')]);
    await service.updateCategory('a', { name: 'renamed', sortOrder: 3 });
    expect(categoriesRepo.tree).not.toHaveBeenCalled();
    expect(categoriesRepo.update.mock.calls[0][2]).toBeUndefined();
  });

  it('a creation under a parent is a tree change (judged on the tree, at its version); at the top level it is not', async () => {
    const { service, categoriesRepo } = setUp([category('root')]);
    await service.createCategory({ name: 'Top' });
    expect(categoriesRepo.tree).not.toHaveBeenCalled();
    expect(categoriesRepo.create.mock.calls[0][1]).toBeUndefined();
    await service.createCategory({ name: 'Under', parentId: 'root' });
    expect(categoriesRepo.create.mock.calls[1][1]).toBe(7);
    expect(await refusalOf(() => service.createCategory({ name: 'Lost', parentId: 'ghost' }))).toBe(
      '422 unknown_parent',
    );
    expect(categoriesRepo.create).toHaveBeenCalledTimes(2);
  });

  it('the tree is at most MAX_CATEGORY_DEPTH levels deep: creations, moves and moveTo past it are 422 category_too_deep', async () => {
    // d1 > d2 > ... > d10, and a two-level subtree s > s2 at the top
    const chain = Array.from({ length: MAX_CATEGORY_DEPTH }, (_, i) =>
      category(`d${i + 1}`, i === 0 ? {} : { parentId: `d${i}` }),
    );
    const all = [...chain, category('s', { postCount: 1 }), category('s2', { parentId: 's' }), category('t')];
    const { service, categoriesRepo } = setUp(all);
    expect(await refusalOf(() => service.createCategory({ name: 'x', parentId: 'd10' }))).toBe('422 category_too_deep');
    expect(await refusalOf(() => service.createCategory({ name: 'x', parentId: 'd9' }))).toBe('allowed');
    expect(await refusalOf(() => service.updateCategory('s', { parentId: 'd9' }))).toBe('422 category_too_deep');
    expect(await refusalOf(() => service.updateCategory('s', { parentId: 'd8' }))).toBe('allowed');
    // deleting s moves s2 (one level) under moveTo
    expect(await refusalOf(() => service.categoryDeletion('s', 'd10'))).toBe('422 category_too_deep');
    expect(await refusalOf(() => service.categoryDeletion('s', 'd9'))).toBe('allowed');
    expect(categoriesRepo.update).toHaveBeenCalledTimes(1);
  });

  it('the detail names the children in order and the ancestors', async () => {
    const { service } = setUp([
      category('root'),
      category('b', { parentId: 'root', sortOrder: 2 }),
      category('a', { parentId: 'root', sortOrder: 1 }),
    ]);
    const detail = await service.categoryBySlug('root');
    expect(detail.children.map((c) => c.id)).toEqual(['a', 'b']);
    expect((await service.categoryBySlug('b')).ancestors.map((c) => c.id)).toEqual(['root']);
  });

  it('a category with children or posts is 409 category_not_empty without moveTo', async () => {
    for (const all of [[category('a'), category('kid', { parentId: 'a' })], [category('a', { postCount: 2 })]]) {
      const { service } = setUp(all);
      expect(await refusalOf(() => service.categoryDeletion('a'))).toBe('409 category_not_empty');
    }
  });

  it('an empty category is deleted with its slug released, and the slug forgotten', async () => {
    const { service, categoriesRepo, slugs } = setUp([category('a')]);
    await service.deleteCategory(await service.categoryDeletion('a'));
    expect(categoriesRepo.delete.mock.calls).toEqual([[category('a'), [], undefined, 7, 'release category a a']]);
    expect(slugs.forget.mock.calls).toEqual([['category', 'a']]);
  });

  it('with moveTo: the checked plan names the children; the delete reads the tree again (its posts moved) and commits at its version', async () => {
    const all = [category('a', { postCount: 2 }), category('kid', { parentId: 'a' }), category('target')];
    const { service, categoriesRepo } = setUp(all);
    const plan = await service.categoryDeletion('a', 'target');
    expect(plan).toEqual({ category: all[0], children: [all[1]], moveTo: 'target' });
    all[0] = category('a', { postCount: 0, version: 4 });
    await service.deleteCategory(plan);
    expect(categoriesRepo.tree).toHaveBeenCalledTimes(2);
    expect(categoriesRepo.delete.mock.calls[0].slice(0, 4)).toEqual([all[0], [all[1]], 'target', 7]);
  });

  it('the delete re-checks on the tree as it is when it commits (review 21a M1, L1)', async () => {
    const all = [category('a', { postCount: 2 }), category('kid', { parentId: 'a' }), category('target')];
    const { service, categoriesRepo } = setUp(all);
    const plan = await service.categoryDeletion('a', 'target');
    // while the posts moved: a category was created under a, and target moved under kid
    all.push(category('late', { parentId: 'a' }));
    all[2] = category('target', { parentId: 'kid', version: 2 });
    expect(await refusalOf(() => service.deleteCategory(plan))).toBe('409 category_cycle');
    expect(categoriesRepo.delete).not.toHaveBeenCalled();
    // target back at the top: the late child moves with the others
    all[2] = category('target', { version: 3 });
    await service.deleteCategory(plan);
    expect(categoriesRepo.delete.mock.calls[0][1].map((c) => c.id)).toEqual(['kid', 'late']);
  });

  it('a child created under a category whose deletion had none is 409 category_not_empty at the commit', async () => {
    const all = [category('a')];
    const { service, categoriesRepo } = setUp(all);
    const plan = await service.categoryDeletion('a');
    all.push(category('late', { parentId: 'a' }));
    expect(await refusalOf(() => service.deleteCategory(plan))).toBe('409 category_not_empty');
    expect(categoriesRepo.delete).not.toHaveBeenCalled();
  });

  it('moveTo must exist (422 unknown_parent) and not be the category or below it (409 category_cycle)', async () => {
    const all = [category('a', { postCount: 1 }), category('kid', { parentId: 'a' })];
    const { service } = setUp(all);
    expect(await refusalOf(() => service.categoryDeletion('a', 'ghost'))).toBe('422 unknown_parent');
    expect(await refusalOf(() => service.categoryDeletion('a', 'kid'))).toBe('409 category_cycle');
    expect(await refusalOf(() => service.categoryDeletion('a', 'a'))).toBe('409 category_cycle');
  });
});

describe('TaxonomyService: tags', () => {
  it('creates a tag with a new id, the clock and the slug', async () => {
    const { service, tagsRepo } = setUp();
    const created = await service.createTag({ name: 'Type Script', slug: 'ts' });
    expect(created).toMatchObject({
      id: 'tax000000000000000001',
      slug: 'ts',
      postCount: 0,
      createdAt: NOW,
      version: 1,
    });
    expect(tagsRepo.create.mock.calls[0][0]).toEqual(created);
  });

  it('a missing tag: 404 tag_not_found for read, update and delete', async () => {
    const { service } = setUp();
    expect(await refusalOf(() => service.tagBySlug('nope'))).toBe('404 tag_not_found');
    expect(await refusalOf(() => service.updateTag('nope', { name: 'x' }))).toBe('404 tag_not_found');
    expect(await refusalOf(() => service.deleteTag('nope'))).toBe('404 tag_not_found');
  });

  it('an update with a stale If-Match: 412 version_mismatch, nothing written', async () => {
    const { service, tagsRepo } = setUp([], [tag('t', { version: 2 })]);
    expect(await refusalOf(() => service.updateTag('t', { name: 'x' }, 1))).toBe('412 version_mismatch');
    expect(tagsRepo.update).not.toHaveBeenCalled();
  });

  it('a slug change swaps the slugs in the update and forgets the old one only once it committed', async () => {
    const { service, tagsRepo, categoriesRepo, slugs } = setUp([category('c')], [tag('t')]);
    await service.updateTag('t', { name: 'same slug' });
    expect(tagsRepo.update.mock.calls[0][2]).toEqual([]);
    expect(slugs.forget).not.toHaveBeenCalled();

    tagsRepo.update.mockImplementationOnce(() => {
      expect(slugs.forget).not.toHaveBeenCalled();
      return Promise.reject(conflict(ErrorCode.SlugTaken, 'taken'));
    });
    expect(await refusalOf(() => service.updateTag('t', { slug: 'taken' }))).toBe('409 slug_taken');
    expect(slugs.forget).not.toHaveBeenCalled();

    await service.updateTag('t', { slug: 'renamed' });
    expect(tagsRepo.update.mock.calls[2][2]).toEqual(['release tag t t', 'claim tag renamed t']);
    await service.updateCategory('c', { slug: 'moved' });
    expect(categoriesRepo.update.mock.calls[0][3]).toEqual(['release category c c', 'claim category moved c']);
    expect(slugs.forget.mock.calls).toEqual([
      ['tag', 't'],
      ['category', 'c'],
    ]);
  });

  it('a tag on published posts cannot be deleted: 409 tag_in_use', async () => {
    const { service, tagsRepo } = setUp([], [tag('used', { postCount: 1 }), tag('free')]);
    expect(await refusalOf(() => service.deleteTag('used'))).toBe('409 tag_in_use');
    expect(await refusalOf(() => service.deleteTag('free'))).toBe('allowed');
    expect(tagsRepo.delete.mock.calls.map((call) => call[0].id)).toEqual(['free']);
  });

  it('tagsNamed: finds existing tags by slug, creates the others once per slug', async () => {
    const { service, tagsRepo } = setUp([], [tag('t-rust', { slug: 'rust', name: 'Rust' })]);
    const found = await service.tagsNamed(['Rust', 'Go', ' go ', 'GO']);
    expect(found.map((t) => t.slug)).toEqual(['rust', 'go']);
    expect(tagsRepo.create.mock.calls.map((call) => call[0].name)).toEqual(['Go']);
  });

  it('tagsNamed: calls beforeCreating with the number of new names, only when there is one, before creating; its refusal creates none', async () => {
    const { service, tagsRepo } = setUp([], [tag('t-rust', { slug: 'rust', name: 'Rust' })]);
    const before = jest.fn((_n: number) => Promise.resolve());
    await service.tagsNamed(['Rust', 'rust'], before);
    expect(before).not.toHaveBeenCalled();
    await service.tagsNamed(['Rust', 'Go', 'GO', 'Zig'], before);
    expect(before.mock.calls).toEqual([[2]]);
    expect(before.mock.invocationCallOrder[0]).toBeLessThan(tagsRepo.create.mock.invocationCallOrder[0]);
    tagsRepo.create.mockClear();
    const refuse = () => Promise.reject(conflict(ErrorCode.TooManyNewTags, 'no'));
    expect(await refusalOf(() => service.tagsNamed(['Rust', 'Elm'], refuse))).toBe('409 too_many_new_tags');
    expect(tagsRepo.create).not.toHaveBeenCalled();
  });

  it('tagsNamed: a name without letters or digits is 422 validation_failed, nothing created', async () => {
    const { service, tagsRepo } = setUp();
    expect(await refusalOf(() => service.tagsNamed(['ok', '!!!']))).toBe('422 validation_failed');
    expect(tagsRepo.create).not.toHaveBeenCalled();
  });

  it('tagsNamed: a creation that loses the slug race reads the winner’s tag', async () => {
    const { service, tagsRepo, slugs } = setUp();
    const winner = tag('winner', { slug: 'go' });
    slugs.withSlug.mockRejectedValueOnce(conflict(ErrorCode.SlugTaken, 'taken'));
    slugs.ownerOf.mockResolvedValueOnce(undefined).mockResolvedValueOnce('winner');
    tagsRepo.findById.mockResolvedValueOnce(winner);
    expect(await service.tagsNamed(['Go'])).toEqual([winner]);
  });
});
