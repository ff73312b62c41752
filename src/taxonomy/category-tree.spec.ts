import { ancestorsOf, buildTree, isSelfOrDescendant } from './category-tree.js';
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
});
