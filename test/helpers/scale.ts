/**
 * How large the scale tests' seeded data and concurrent bursts are.
 *
 * A claim such as "a page costs the same with 100 and with 100,000 items" or "100 concurrent
 * follows count exactly" holds at any size, and `npm test` must stay fast for everyone who runs
 * it many times a day, so it runs these tests at the quick size. `npm run test:scale` (in CI,
 * after `npm test`) runs the same tests, unchanged, at the full size the issues name:
 * `TEST_SCALE=full`.
 */
export const FULL_SCALE = process.env.TEST_SCALE === 'full';

/** `quick` in `npm test`, `full` in `npm run test:scale`. */
export const atScale = <T>(quick: T, full: T): T => (FULL_SCALE ? full : quick);
