import type { Category } from './taxonomy.entity.js';

const NOW = '2026-05-15T12:00:00.000Z';

/** A category for unit specs: version 1, no posts, at the top level unless `overrides` say otherwise. */
export const categoryFixture = (id: string, overrides: Partial<Category> = {}): Category => ({
  id,
  name: id,
  slug: id,
  sortOrder: 0,
  postCount: 0,
  createdAt: NOW,
  updatedAt: NOW,
  version: 1,
  ...overrides,
});
