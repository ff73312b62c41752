import { ancestorsOf, buildTree, isSelfOrDescendant, unreachableCategories } from './category-tree.js';
import type { Category } from './taxonomy.entity.js';

const cat = (id: string, name: string, sortOrder = 0, parentId?: string): Category => ({
  id,
  name,
  slug: id,
  sortOrder,
  parentId,
  postCount: 0,
  createdAt: '',
  updatedAt: '',
  version: 1,
});

describe('category tree', () => {
  const all = [
    cat('a', 'Zeta', 0),
    cat('b', 'alpha', 0),
    cat('c', 'Child', 2, 'b'),
    cat('d', 'Another child', 1, 'b'),
    cat('e', 'Grandchild', 0, 'c'),
  ];
  const byId = new Map(all.map((c) => [c.id, c]));

  it('nests children and orders siblings by sortOrder, then name', () => {
    const tree = buildTree(all);
    expect(tree.map((n) => n.id)).toEqual(['b', 'a']);
    expect(tree[0].children.map((n) => n.id)).toEqual(['d', 'c']);
    expect(tree[0].children[1].children.map((n) => n.id)).toEqual(['e']);
  });

  it('finds ancestors root first', () => {
    expect(ancestorsOf(byId.get('e')!, byId).map((c) => c.id)).toEqual(['b', 'c']);
    expect(ancestorsOf(byId.get('a')!, byId)).toEqual([]);
  });

  it('recognises moves that would make a cycle', () => {
    expect(isSelfOrDescendant('e', 'b', byId)).toBe(true);
    expect(isSelfOrDescendant('b', 'b', byId)).toBe(true);
    expect(isSelfOrDescendant('a', 'b', byId)).toBe(false);
  });

  it('orders siblings whose names differ only in case or accents by id', () => {
    const tree = buildTree([cat('y', 'apple'), cat('x', 'Apple'), cat('z', 'Äpple')]);
    expect(tree.map((n) => n.id)).toEqual(['x', 'y', 'z']);
  });

  it('shows a category whose parent is missing at the top, and stops its ancestors there', () => {
    const orphan = cat('o', 'Orphan', 0, 'gone');
    const child = cat('k', 'Kid', 0, 'o');
    const map = new Map([orphan, child].map((c) => [c.id, c]));
    expect(buildTree([orphan, child]).map((n) => n.id)).toEqual(['o']);
    expect(ancestorsOf(child, map).map((c) => c.id)).toEqual(['o']);
  });

  it('stops at a loop instead of spinning', () => {
    const loop = [cat('p', 'P', 0, 'q'), cat('q', 'Q', 0, 'p')];
    const map = new Map(loop.map((c) => [c.id, c]));
    expect(ancestorsOf(loop[0], map).map((c) => c.id)).toEqual(['q']);
    expect(isSelfOrDescendant('p', 'q', map)).toBe(true);
  });

  it('does not take a sibling, a cousin or an unknown id for a descendant', () => {
    expect(isSelfOrDescendant('d', 'c', byId)).toBe(false);
    expect(isSelfOrDescendant('e', 'd', byId)).toBe(false);
    expect(isSelfOrDescendant('unknown', 'b', byId)).toBe(false);
  });
});

describe('unreachableCategories (parent loops from before session 21)', () => {
  const at = (c: Category, updatedAt: string): Category => ({ ...c, updatedAt });
  it('finds each loop, the member changed last, and what hangs below; a tree without loops has none', () => {
    const all = [
      cat('root', 'Root'),
      cat('kid', 'Kid', 0, 'root'),
      cat('orphan', 'Orphan', 0, 'gone'),
      at(cat('x', 'X', 0, 'y'), '2026-01-01'),
      at(cat('y', 'Y', 0, 'z'), '2026-01-03'),
      at(cat('z', 'Z', 0, 'x'), '2026-01-02'),
      cat('under', 'Under', 0, 'y'),
      cat('self', 'Self', 0, 'self'),
    ];
    const { cycles, below } = unreachableCategories(all);
    expect(cycles.map((c) => [c.members.map((m) => m.id), c.breakAt.id])).toEqual([
      [['self'], 'self'],
      [['y', 'z', 'x'], 'y'],
    ]);
    expect(below.map((c) => c.id)).toEqual(['under']);
    expect(unreachableCategories(all.slice(0, 3))).toEqual({ cycles: [], below: [] });
  });
});
