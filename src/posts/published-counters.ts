import { ENTITY, feedBucket, type ItemKey, Keys } from '../dynamo/keys.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import {
  dayAttribute,
  dayAttributeAs,
  dayCounterClauses,
  dayInWindow,
  HINT_PREFIXES,
  updateExpression,
} from './feed-days.js';
import type { PostSummary } from './post.entity.js';

/**
 * The counts of published posts behind Conduit's exact `articlesCount` (docs/conduit.md): per
 * month of the global feed (`publishedCount` on the `FEED#MONTHS` item, summed on read: one Query
 * of that small partition) and per author (`publishedCount` on the author's `USER#POSTS` item).
 * A post counts from the transaction that puts it in the feeds (published, or scheduled: the same
 * rule as a tag's `postCount`) to the one that takes it out (unpublish, archive, delete), and moves
 * with its author when an erasure anonymises it.
 *
 * Why per month and not one global item: every publication already wrote its month's item (the
 * global feed's list of months), so the count adds no new hot key; the month item takes about 500
 * transactional publications a second (1,000 WCU per item, 2 per transactional write of an item
 * under 1 KB), far above what the per-author publish limit lets through in practice.
 */

/** The attribute counting published posts on a month item and on a user's counts item. */
export const PUBLISHED_COUNT = 'publishedCount';
/** The attribute counting a user's likes on the user's counts item. */
export const LIKED_COUNT = 'likedCount';

/** Posts the counters count: in the feeds (published, or scheduled), with a publication time. */
const counted = (post: PostSummary | undefined): post is PostSummary & { publishedAt: string } =>
  post !== undefined && post.status === 'published' && post.publishedAt !== undefined;

/** `ADD <attribute> :delta` on a counter item, created by the first change. */
export function counterChange(tableName: string, key: ItemKey, entity: string, attribute: string, delta: number) {
  return {
    item: {
      Update: {
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET entity = :entity ADD #counter :delta',
        ExpressionAttributeNames: { '#counter': attribute },
        ExpressionAttributeValues: { ':delta': delta, ':entity': entity },
      },
    },
  } satisfies TransactOperation;
}

/** The net change per key of one post's move from `before` to `after` (nothing for a no-op). */
function netChanges(
  before: PostSummary | undefined,
  after: PostSummary | undefined,
  keyOf: (post: PostSummary & { publishedAt: string }) => string,
): Map<string, number> {
  const changes = new Map<string, number>();
  const add = (key: string, delta: number) => changes.set(key, (changes.get(key) ?? 0) + delta);
  if (counted(before)) add(keyOf(before), -1);
  if (counted(after)) add(keyOf(after), +1);
  return new Map([...changes].filter(([, delta]) => delta !== 0));
}

/**
 * The counter writes that follow a post from one state to the next (undefined: not there), as
 * parts of the transaction that writes the post: its month's and its author's `publishedCount`,
 * and on the author's item the count of the post's publication day (`d<yyyymmdd>`), which the
 * personal feed sums for readers who merge that author in (fan-in, src/posts/feed-days.ts), with
 * its hints `p<day>` (the same count, of this version's writes) and `q<day>` (those scheduled at
 * their write), which spare the feed's count a Query per author. A day already out of the feed's
 * window is not changed (it is no longer summed), and each write removes the days just before the
 * window, so the item keeps about 31 days.
 */
export function publishedCountChanges(
  tableName: string,
  before: PostSummary | undefined,
  after: PostSummary | undefined,
  now: Date,
): TransactOperation[] {
  const months = netChanges(before, after, (post) => feedBucket(post.publishedAt));
  const authors = netChanges(before, after, (post) => post.authorId);
  const placeOf = (post: PostSummary & { publishedAt: string }) => `${post.authorId} ${post.publishedAt}`;
  const days = netChanges(before, after, placeOf);
  // The same moves, of posts whose time is still ahead (scheduled): the `q<day>` hint.
  const ahead = (post: PostSummary | undefined) =>
    post?.publishedAt !== undefined && post.publishedAt > now.toISOString() ? post : undefined;
  const scheduled = netChanges(ahead(before), ahead(after), placeOf);
  const daysOf = new Map<string, Map<string, number>>();
  const change = (key: string, delta: number, attributeOf: (publishedAt: string) => string[]) => {
    const [authorId, publishedAt] = key.split(' ') as [string, string];
    if (!dayInWindow(publishedAt, now)) return;
    const changes = daysOf.get(authorId) ?? new Map<string, number>();
    for (const day of attributeOf(publishedAt)) changes.set(day, (changes.get(day) ?? 0) + delta);
    daysOf.set(authorId, changes);
  };
  // `d<day>` and `p<day>` move together: `p` counts what this version wrote (src/posts/feed-days.ts).
  for (const [key, delta] of days)
    change(key, delta, (at) => [dayAttribute(at), dayAttributeAs(HINT_PREFIXES.counted, at)]);
  for (const [key, delta] of scheduled) change(key, delta, (at) => [dayAttributeAs(HINT_PREFIXES.scheduled, at)]);
  return [
    ...[...months].map(([month, delta]) =>
      counterChange(tableName, Keys.feedMonth(month), ENTITY.FeedMonth, PUBLISHED_COUNT, delta),
    ),
    ...[...new Set([...authors.keys(), ...daysOf.keys()])]
      .filter((authorId) => authors.has(authorId) || [...daysOf.get(authorId)!.values()].some((delta) => delta !== 0))
      .map((authorId) =>
        authorCountsChange(tableName, authorId, authors.get(authorId) ?? 0, daysOf.get(authorId) ?? new Map(), now),
      ),
  ];
}

/** `publishedCount` and the day counts of one author, in one update of their `USER#POSTS` item. */
function authorCountsChange(
  tableName: string,
  authorId: string,
  delta: number,
  days: ReadonlyMap<string, number>,
  now: Date,
): TransactOperation {
  const clauses = dayCounterClauses(days, now, ['d', HINT_PREFIXES.counted, HINT_PREFIXES.scheduled]);
  return {
    item: {
      Update: {
        TableName: tableName,
        Key: Keys.userPostCounts(authorId),
        UpdateExpression: updateExpression({
          set: ['entity = :entity'],
          add: [...(delta !== 0 ? ['#counter :delta'] : []), ...clauses.add],
          remove: clauses.remove,
        }),
        ExpressionAttributeNames: delta !== 0 ? { '#counter': PUBLISHED_COUNT } : undefined,
        ExpressionAttributeValues: {
          ':entity': ENTITY.UserPostCounts,
          ...(delta !== 0 ? { ':delta': delta } : {}),
          ...clauses.values,
        },
      },
    },
  } satisfies TransactOperation;
}

/** `likedCount ± 1` on the user's counts item, in the transaction that writes or removes a like. */
export const likedCountChange = (tableName: string, userId: string, delta: 1 | -1): TransactOperation =>
  counterChange(tableName, Keys.userPostCounts(userId), ENTITY.UserPostCounts, LIKED_COUNT, delta);

/** A counter's value on an item read (0 for an absent item or attribute). */
export const countOf = (item: Record<string, unknown> | undefined, attribute: string): number =>
  typeof item?.[attribute] === 'number' ? item[attribute] : 0;
