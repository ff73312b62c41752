/**
 * The personal feed's day counts (Conduit's feed `articlesCount`, docs/conduit.md): a reader's
 * timeline entries counted per UTC publication day (`d<yyyymmdd>` on `USER#<id>`/`FEED#DAYS`),
 * and an author's published posts the same way (on `USER#<id>`/`USER#POSTS`, for the readers who
 * merge that author in: fan-in). The feed's count is the sum of the days inside the window.
 *
 * A timeline entry lives until the end of its publication day plus FEED_WINDOW_DAYS (its `ttl`,
 * and the read filter), so a day leaves the window at the very second its entries expire: the
 * sum needs no decrement when entries expire, and old days are simply not summed.
 */

/** Whole days a timeline entry outlives its publication day: entries live 30 to 31 days. */
export const FEED_WINDOW_DAYS = 30;
/** Days before the window whose attributes a counter write removes, so a counter item stays small. */
export const PRUNED_DAYS = 31;

const DAY_MS = 86_400_000;

/** The UTC day number (days since the epoch) of an instant. */
const dayNumber = (at: Date | string): number => Math.floor(new Date(at).getTime() / DAY_MS);

const attributeOfDay = (day: number): string =>
  `d${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;

/** The counter attribute of a publication time's day: `d<yyyymmdd>` (UTC). */
export const dayAttribute = (publishedAt: string): string => attributeOfDay(dayNumber(publishedAt));

/** The `ttl` of a timeline entry: the end of its publication day (UTC) plus FEED_WINDOW_DAYS, in epoch seconds. */
export const timelineEntryTtl = (publishedAt: string): number =>
  ((dayNumber(publishedAt) + 1 + FEED_WINDOW_DAYS) * DAY_MS) / 1000;

/** Whether a post published at `publishedAt` still has its day in (or ahead of) the window at `now`. */
export const dayInWindow = (publishedAt: string, now: Date): boolean =>
  dayNumber(publishedAt) >= dayNumber(now) - FEED_WINDOW_DAYS;

/** The attributes the window sums at `now`: today and the FEED_WINDOW_DAYS days before it. */
export function windowDays(now: Date): string[] {
  const today = dayNumber(now);
  return Array.from({ length: FEED_WINDOW_DAYS + 1 }, (_, i) => attributeOfDay(today - i));
}

/** The attributes just before the window, removed by every counter write (absent ones cost nothing). */
export function prunedDays(now: Date): string[] {
  const oldest = dayNumber(now) - FEED_WINDOW_DAYS;
  return Array.from({ length: PRUNED_DAYS }, (_, i) => attributeOfDay(oldest - 1 - i));
}

/** The sum of the window's days on a counter item (absent item or attribute: 0). */
export function windowSum(item: Record<string, unknown> | undefined, now: Date): number {
  if (!item) return 0;
  return windowDays(now).reduce((sum, day) => sum + (typeof item[day] === 'number' ? item[day] : 0), 0);
}

/**
 * The two hints an author's `USER#POSTS` item keeps beside `d<yyyymmdd>` (review 12, L6), so the
 * feed's count Queries an author's posts of later today only when there may be some:
 * - `p<yyyymmdd>`: the day's posts counted by this version's writes (each `±1` with `d<day>`);
 * - `q<yyyymmdd>`: those of them scheduled at their write (`+1` when a post enters the feeds with
 *   a publication time still ahead, `-1` when one leaves them while still ahead: never below the
 *   day's posts still scheduled, since a post ahead when it leaves was ahead when it entered).
 */
export const HINT_PREFIXES = { counted: 'p', scheduled: 'q' } as const;

/** The attribute of a publication time's day under another prefix (`p<yyyymmdd>`, `q<yyyymmdd>`). */
export const dayAttributeAs = (prefix: string, publishedAt: string): string =>
  prefix + dayAttribute(publishedAt).slice(1);

/**
 * Whether an author's posts of today may include some scheduled for later today: some were
 * scheduled at their write (`q<today>` above 0), or the day counts posts this version did not
 * write (`d<today>` differs from `p<today>`: counted before the hints existed, by migration 0009
 * or an older version, or repaired by `db:check-counts --fix`), of which nothing is known. Only
 * then does the count read the author's positions after now (one `COUNT` Query).
 */
export function mayHaveLaterToday(item: Record<string, unknown> | undefined, now: Date): boolean {
  const digits = attributeOfDay(dayNumber(now)).slice(1);
  const value = (name: string) => (typeof item?.[name] === 'number' ? item[name] : 0);
  return value(HINT_PREFIXES.scheduled + digits) > 0 || value(`d${digits}`) !== value(HINT_PREFIXES.counted + digits);
}

/** The start of the window's first day (UTC), as an ISO string: the lowest position the window counts. */
export const windowStart = (now: Date): string => new Date((dayNumber(now) - FEED_WINDOW_DAYS) * DAY_MS).toISOString();

/** The start of the next UTC day, as an ISO string (the upper bound of today's positions). */
export const endOfDay = (now: Date): string => new Date((dayNumber(now) + 1) * DAY_MS).toISOString();

/**
 * The clauses that change day counters by `changes` (attribute -> delta) and remove the days just
 * before the window (under each of `prefixes`: `d`, and an author's `p` and `q` hints), to join
 * an UpdateExpression (`ADD ...` and `REMOVE ...` may appear once each in one): the names are
 * plain attribute names (a letter and digits are never reserved words).
 */
export function dayCounterClauses(
  changes: ReadonlyMap<string, number>,
  now: Date,
  prefixes: readonly string[] = ['d'],
): { add: string[]; remove: string[]; values: Record<string, number> } {
  const adds = [...changes].filter(([, delta]) => delta !== 0);
  return {
    add: adds.map(([day], i) => `${day} :day${i}`),
    remove: prunedDays(now)
      .flatMap((day) => prefixes.map((prefix) => prefix + day.slice(1)))
      .filter((day) => !changes.has(day)),
    values: Object.fromEntries(adds.map(([, delta], i) => [`:day${i}`, delta])),
  };
}

/** `SET <set> ADD <add> REMOVE <remove>`, leaving out the empty clauses. */
export const updateExpression = (clauses: { set?: string[]; add?: string[]; remove?: string[] }): string =>
  (['set', 'add', 'remove'] as const)
    .filter((clause) => clauses[clause]?.length)
    .map((clause) => `${clause.toUpperCase()} ${clauses[clause]!.join(', ')}`)
    .join(' ');
