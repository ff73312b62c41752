import type { Category } from './taxonomy.entity.js';

export interface CategoryNode extends Category {
  children: CategoryNode[];
}

/** Siblings by sortOrder, then name (case-insensitive), then id for a stable order. */
export const bySortOrderThenName = (a: Category, b: Category): number =>
  a.sortOrder - b.sortOrder ||
  a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) ||
  a.id.localeCompare(b.id);

/** Builds the forest from a flat list; a category whose parent is missing is shown at the top. */
export function buildTree(categories: Category[]): CategoryNode[] {
  const nodes = new Map(categories.map((c) => [c.id, { ...c, children: [] as CategoryNode[] }]));
  const roots: CategoryNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentId ? nodes.get(node.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: CategoryNode[]) => {
    list.sort(bySortOrderThenName);
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** Ancestors of a category, root first. Stops at a loop rather than spinning. */
export function ancestorsOf(category: Category, byId: Map<string, Category>): Category[] {
  const chain: Category[] = [];
  const seen = new Set([category.id]);
  let parentId = category.parentId;
  while (parentId && !seen.has(parentId)) {
    const parent = byId.get(parentId);
    if (!parent) break;
    chain.unshift(parent);
    seen.add(parentId);
    parentId = parent.parentId;
  }
  return chain;
}

/** True when `candidateId` is `category` itself or one of its descendants. */
export function isSelfOrDescendant(candidateId: string, categoryId: string, byId: Map<string, Category>): boolean {
  if (candidateId === categoryId) return true;
  const candidate = byId.get(candidateId);
  return candidate ? ancestorsOf(candidate, byId).some((a) => a.id === categoryId) : false;
}

/** The deepest a category may sit (a top-level category is at depth 1): creations and moves past it are refused. */
export const MAX_CATEGORY_DEPTH = 10;

/** The depth of a category (1 at the top level). */
export function depthOf(category: Category, byId: Map<string, Category>): number {
  return ancestorsOf(category, byId).length + 1;
}

/** The levels of a category's subtree, itself included (1 for a leaf). Stops at a loop. */
export function subtreeHeight(categoryId: string, categories: Category[]): number {
  const children = new Map<string, string[]>();
  for (const c of categories) if (c.parentId) children.set(c.parentId, [...(children.get(c.parentId) ?? []), c.id]);
  const seen = new Set<string>();
  const height = (id: string): number => {
    if (seen.has(id)) return 0;
    seen.add(id);
    return 1 + Math.max(0, ...(children.get(id) ?? []).map(height));
  };
  return height(categoryId);
}
