// The pure rules whose unit specs StrykerJS measures (`npm run test:mutation`), each with its
// spec beside it (`<rule>.spec.ts`). stryker.config.mjs mutates these files; jest.unit.config.mjs
// runs only their specs, so a mutant loads the specs of its rule, not every spec that imports it
// through a service (which made a mutant cost 20-30 s on a loaded machine). docs/testing.md says
// which rules are left out and why.
export const UNIT_RULES = [
  'src/auth/guards.ts',
  'src/common/clock/clock.ts',
  'src/http/etag.ts',
  'src/slugs/slugify.ts',
  'src/dynamo/cursor.ts',
  'src/dynamo/dynamo-errors.ts',
  'src/dynamo/expressions.ts',
  'src/taxonomy/category-tree.ts',
  'src/identity/username.ts',
];
