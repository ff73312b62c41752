// Whether a capacity pattern of `npm run bench` grows with the table, judged against the pattern's
// declared bound where it has one. Pure (no app, no database): src/bench-scripts.spec.ts checks it.

/** DynamoDB's rounding step (0.5 RCU for 4 KB read eventually consistent): one call's cost moves by it when its items differ a little. */
export const ROUNDING_STEP = 0.5;

/**
 * `bySize`: the pattern's `{ calls, rcu, wcu, listed, atBound }` at each table size, smallest first.
 * `bound` (optional): what the pattern reads at most however large the table, `{ queries, about }`
 * (a listing merged from `queries` shards of at most a page each, capacity.mjs `shardedPageBound`);
 * `atBound` says whether the table held enough at that size for the pattern to read all of it.
 *
 * Grows: more calls at the largest size than at the smallest, or more read (or written) units for
 * the same number of listed items beyond the rounding step of each call that reads a varying set
 * of items. Without a bound the two sizes compared are the smallest and the largest; with one, the
 * first size at which the bound is reached and the largest (growth up to the bound is the page
 * filling, as documented; growth past it is not). A bound never reached is reported, not flagged.
 */
export function judgeGrowth({ kind, bySize, bound }) {
  const first = bySize[0];
  const last = bySize[bySize.length - 1];
  if (last.calls > first.calls) return { grows: true, why: `calls ${first.calls} -> ${last.calls}` };
  const units = (c) => (kind === 'read' ? c.rcu : c.wcu);
  const unit = kind === 'read' ? 'RCU' : 'WCU';
  let from = 0;
  let step = ROUNDING_STEP;
  if (bound) {
    from = bySize.findIndex((c) => c.atBound);
    if (from === -1) return { grows: false, why: `bound not reached at these sizes (${bound.about})` };
    step = ROUNDING_STEP * bound.queries;
  }
  const base = bySize[from];
  const beyond = last.listed === base.listed && units(last) > units(base) + step;
  const range = `${units(base)} -> ${units(last)} ${unit}`;
  if (!bound) return { grows: beyond, why: beyond ? range : 'flat' };
  return {
    grows: beyond,
    why: `${beyond ? 'past its bound' : 'bounded'}: ${range} from the size where ${bound.about} (+${step} allowed)`,
  };
}
