// The order Jest runs test files in. With two workers the run ends when the later of them
// finishes, so a long file started last leaves the other core idle: run the long ones first.
// Files Jest has timed before keep Jest's own order (failed first, then slowest first, from its
// cache). Files it has not timed (all of them in a fresh clone, so in every CI run) are ordered by
// an estimate instead of Jest's file size alone: e2e files before unit specs (a unit spec takes
// well under a second, so unit specs fill the gaps at the end), and a grouped e2e file
// (docs/testing.md, "Grouped e2e files") weighs what the parts it imports weigh: by its own few
// hundred bytes Jest ran `storage-and-engine`, a minute of child processes, last.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Sequencer from '@jest/test-sequencer';

const PART_IMPORT = /^import '\.\/([\w.-]+\.e2e-part)\.js';$/gm;

/** Bytes of a test file, plus those of the `*.e2e-part.ts` files it imports. */
export function estimatedSize(path, read = (file) => readFileSync(file, 'utf8'), size = (file) => statSync(file).size) {
  let total = size(path);
  if (path.endsWith('.e2e-spec.ts'))
    for (const [, part] of read(path).matchAll(PART_IMPORT)) total += size(join(dirname(path), `${part}.ts`));
  return total;
}

/** Untimed files, longest expected first: e2e before unit, then by estimated size. */
export function byEstimate(paths, estimate = estimatedSize) {
  const rank = (path) => [path.endsWith('.e2e-spec.ts') ? 0 : 1, -estimate(path)];
  const ranks = new Map(paths.map((path) => [path, rank(path)]));
  return [...paths].sort((a, b) => {
    const [ka, sa] = ranks.get(a);
    const [kb, sb] = ranks.get(b);
    return ka - kb || sa - sb || (a < b ? -1 : 1);
  });
}

export default class EstimatingSequencer extends Sequencer {
  sort(tests) {
    const jestOrder = super.sort(tests);
    const failed = jestOrder.filter((test) => this.hasFailed(test));
    const timed = jestOrder.filter((test) => !this.hasFailed(test) && test.duration != null);
    const untimed = jestOrder.filter((test) => !this.hasFailed(test) && test.duration == null);
    const byPath = new Map(untimed.map((test) => [test.path, test]));
    return [...failed, ...byEstimate([...byPath.keys()]).map((path) => byPath.get(path)), ...timed];
  }
}
