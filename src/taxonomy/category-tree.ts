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

/** A loop of categories, each the parent of the next (legacy data: no change can close one since session 21). */
export interface CategoryCycle {
  /** The loop's members, each one's parent the one after it (the last one's, the first). */
  members: Category[];
  /** The member a repair moves to the top: the one changed last (ties: the smallest id), likely the move that closed the loop. */
  breakAt: Category;
}

/**
 * The categories `buildTree` cannot reach from a root (a category with no parent, or whose parent is
 * gone): the members of parent loops, and the categories below them. A tree change is judged on one
 * read of the tree and commits only while the tree is as read (session 21), so a loop is legacy data
 * from before that; `GET /categories` does not show it, and moving one member of each loop to the
 * top brings the loop and what hangs below it back (`npm run db:check-counts -- --fix`).
 */
export function unreachableCategories(categories: Category[]): { cycles: CategoryCycle[]; below: Category[] } {
  const byId = new Map(categories.map((c) => [c.id, c]));
  const reachable = new Set(
    buildTree(categories).flatMap(function ids(node: CategoryNode): string[] {
      return [node.id, ...node.children.flatMap(ids)];
    }),
  );
  const unreachable = categories.filter((c) => !reachable.has(c.id));
  // Each unreachable category's parent exists and is unreachable: following parents ends in a loop.
  const done = new Set<string>();
  const inCycle = new Set<string>();
  const cycles: CategoryCycle[] = [];
  for (const start of [...unreachable].sort((a, b) => a.id.localeCompare(b.id))) {
    const path: Category[] = [];
    let at: Category | undefined = start;
    while (at && !done.has(at.id) && !path.includes(at)) {
      path.push(at);
      at = at.parentId ? byId.get(at.parentId) : undefined;
    }
    if (at && path.includes(at)) {
      const members = path.slice(path.indexOf(at));
      members.forEach((m) => inCycle.add(m.id));
      const breakAt = [...members].sort(
        (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id),
      )[0];
      cycles.push({ members, breakAt });
    }
    path.forEach((c) => done.add(c.id));
  }
  return { cycles, below: unreachable.filter((c) => !inCycle.has(c.id)) };
}
