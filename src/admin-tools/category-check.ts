import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock } from '../common/clock/clock.js';
import { DomainError } from '../common/errors/domain-error.js';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { CategoriesRepository } from '../taxonomy/categories.repository.js';
import { type CategoryCycle, unreachableCategories } from '../taxonomy/category-tree.js';
import type { Category } from '../taxonomy/taxonomy.entity.js';

export interface CategoryTreeCheck {
  /** Parent loops (legacy data), each with the member `fix` moves to the top; `moved` with `fix`. */
  cycles: (CategoryCycle & { moved?: boolean })[];
  /** Categories below a loop: reachable again once it is broken. */
  below: Category[];
}

/**
 * Finds the categories `GET /categories` cannot show, unreachable from the tree's roots (parent
 * loops written before session 21, and what hangs below them), from one read of the tree (a
 * GetItem of its version and the categories' Query, as a tree change reads it). With `fix`, each
 * loop's `breakAt` member moves to the top as an admin's `PATCH /categories/{id}` with
 * `parentId: null` would: on condition of its version and of the tree's, bumping the tree's version
 * (a loop whose write loses to a change made meanwhile is left, `moved: false`: run again).
 */
export async function checkCategoryTree(options: {
  client: DynamoDBClient;
  tableName: string;
  fix?: boolean;
}): Promise<CategoryTreeCheck> {
  const categories = new CategoriesRepository(createDocumentClient(options.client), options.tableName, systemClock);
  const tree = await categories.tree();
  const found: CategoryTreeCheck = unreachableCategories(tree.categories);
  if (!options.fix) return found;
  let version = tree.version;
  for (const cycle of found.cycles) {
    try {
      await categories.update(cycle.breakAt, { parentId: null }, version);
      version += 1;
      cycle.moved = true;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      cycle.moved = false;
    }
  }
  return found;
}

const named = (category: Category) => `${category.slug} (${category.id})`;

/** One line per loop, and per category below one. */
export function describeCategoryTree(check: CategoryTreeCheck): string[] {
  return [
    ...check.cycles.map(
      (cycle) =>
        `category cycle ${cycle.members.map(named).join(' -> ')} -> ${named(cycle.members[0])}: unreachable from the roots` +
        (cycle.moved === undefined
          ? `; --fix moves ${named(cycle.breakAt)} to the top`
          : cycle.moved
            ? `; ${named(cycle.breakAt)} moved to the top`
            : `; not fixed (the tree changed meanwhile; run again)`),
    ),
    ...check.below.map((category) => `category ${named(category)}: below a cycle, unreachable from the roots`),
  ];
}
