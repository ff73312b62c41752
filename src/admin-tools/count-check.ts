import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parentCommentKey } from '../comments/comment-keys.js';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { classifyKey } from '../dynamo/item-types.js';
import { ADMIN_COUNTER_KEY, ENTITY, feedBucket, type ItemKey, Keys } from '../dynamo/keys.js';
import { systemClock } from '../common/clock/clock.js';
import { dayAttribute, dayInWindow, windowDays } from '../posts/feed-days.js';
import { LIKED_COUNT, PUBLISHED_COUNT } from '../posts/published-counters.js';
import { isCountedPosition } from '../posts/like-visibility.js';
import { followCountsOf } from '../follows/follow-items.js';
import { scanPages } from './scan-pages.js';

type Item = Record<string, unknown>;

/** Every counter the app keeps exact (docs/data-model.md), in the order they are reported. */
export const COUNTERS = [
  'tag postCount',
  'category postCount',
  'post likeCount',
  'post commentCount',
  'comment likeCount',
  'comment replyCount',
  'comment pointer replyCount',
  'user followerCount',
  'user followingCount',
  'month publishedCount',
  'user publishedCount',
  'user likedCount',
  'reader feed day',
  'author published day',
  'activeAdmins',
] as const;
export type CounterName = (typeof COUNTERS)[number];

export interface CounterDrift {
  counter: CounterName;
  /** The item holding the counter. */
  key: ItemKey;
  /** The stored value (undefined when the attribute, or the counter item, is missing). */
  stored: number | undefined;
  /** The recount. */
  actual: number;
  /** Copies of the count on the same item (a tag's GSI5SK), by attribute. */
  mirrors: Record<string, number | undefined>;
  /** With `fix`: whether the repair was written (false when the item changed meanwhile, or cannot be repaired). */
  fixed?: boolean;
  /** Why `fix` leaves it (a count whose item is gone, and no count can rebuild it). */
  notRepaired?: string;
}

/**
 * A timeline entry of the window the feed never shows: its author is one the reader no longer
 * follows, or one the reader merges in as fan-in (counted by the author's own day counts), or it
 * names no author at all (the feed shows an entry only when its `authorId` is the post's author
 * and followed). It is not counted on the reader's `FEED#DAYS`, and `fix` deletes it: left in
 * place, a withdrawal would later take it out with its day's -1 and push the count too low.
 */
export interface HiddenEntry {
  key: ItemKey;
  readerId: string;
  authorId: string | undefined;
  reason: 'not followed' | 'fan-in' | 'no author';
  /** With `fix`: whether it was deleted. */
  deleted?: boolean;
}

export interface CountCheck {
  /** How many counters of each kind were compared. */
  checked: Record<CounterName, number>;
  drift: CounterDrift[];
  /** Hidden timeline entries of the window (reported, deleted by `fix`). */
  hidden: HiddenEntry[];
}

/** One stored counter, its recount, and the attributes that mirror it. */
interface Counter {
  counter: CounterName;
  key: ItemKey;
  attribute: string;
  stored: number | undefined;
  actual: number;
  /** Attributes that copy the count (a tag's GSI5SK orders tags by use), with their values. */
  mirrors: Record<string, number | undefined>;
  /**
   * Where a post's counter is kept: its summary holds a fixed base, the `COUNTS` item the rest
   * (src/posts/post-counters.ts). A repair sets the `COUNTS` item's value to the recount less the base.
   */
  split?: { key: ItemKey; base: number; value: number | undefined };
  /** Counter items that may be missing and are then created by a repair, with their entity. */
  createAs?: string;
  /** A count with no item to hold it, which no repair can make (reported, left as it is). */
  notRepaired?: string;
}

const keyOf = (item: Item): ItemKey => ({ PK: String(item.PK), SK: String(item.SK) });
/** A timeline entry's publication time: its SK is `<publishedAt>#<postId>`. */
const publishedAtOf = (entry: Item): string => {
  const sk = String(entry.SK);
  return sk.slice(0, sk.length - String(entry.postId).length - 1);
};
const numberOrUndefined = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const increment = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const drifted = (c: Counter): boolean =>
  c.stored !== c.actual || Object.values(c.mirrors).some((value) => value !== c.actual);

/**
 * Recounts every exact counter from the items it counts and compares (`npm run db:check-counts`):
 * tag and category `postCount` (their post links; a tag's `GSI5SK` too), a post's `likeCount` (like
 * items; the summary's base, its `COUNTS` item's and its like shards' counts) and `commentCount` (approved, not deleted comments; the summary's base, its `COUNTS` item's and its comment counter shards' counts), a comment's `likeCount` (comment likes)
 * and `replyCount` (comments attached to it; those made while the post was hot are counted on the
 * comment's pointer, `countedOnParentPointer`, and checked there; a pointer gone with replies counted on it
 * is reported, and left by `fix`), a user's `followerCount` and `followingCount` (follow
 * edges to and from them), a feed month's and a user's `publishedCount` (published or scheduled
 * posts of that month, or by that author) and a user's `likedCount` (their like items not hidden), the
 * personal feed's day counts of the window (`d<yyyymmdd>`: a reader's timeline entries the feed shows on `FEED#DAYS`,
 * an author's published posts on `USER#POSTS`, by publication day; older days are not summed and not
 * checked) and the active-admin counter (active admin users). A timeline entry of the window
 * whose author the reader no longer follows, or merges in as fan-in, or that names no author, is
 * not counted: it is reported (`hidden`), and `fix` deletes it.
 * `viewCount` is not recountable (view markers expire) and is not checked.
 *
 * Admin tooling: one consistent Scan of the whole table, so run it off-peak. With `fix`, each
 * drifted counter is set to its recount on condition that it still holds the value read, so a
 * write the app makes meanwhile is never overwritten (that counter is reported as not fixed; run
 * the check again).
 */
export async function checkCounts(options: {
  client: DynamoDBClient;
  tableName: string;
  fix?: boolean;
  /** The instant whose feed window the day counts are checked in (now by default). */
  now?: Date;
}): Promise<CountCheck> {
  const db = createDocumentClient(options.client);
  const items: Item[] = [];
  for await (const page of scanPages(db, { TableName: options.tableName, ConsistentRead: true }))
    items.push(...page.items);

  const { counters, hidden } = recount(items, options.now ?? systemClock.now());
  if (options.fix) for (const entry of hidden) entry.deleted = await deleteEntry(db, options.tableName, entry.key);
  const checked = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as Record<CounterName, number>;
  const drift: CounterDrift[] = [];
  for (const c of counters) {
    checked[c.counter]++;
    if (!drifted(c)) continue;
    const found: CounterDrift = {
      counter: c.counter,
      key: c.key,
      stored: c.stored,
      actual: c.actual,
      mirrors: c.mirrors,
    };
    if (c.notRepaired) found.notRepaired = c.notRepaired;
    if (options.fix) found.fixed = c.notRepaired ? false : await repair(db, options.tableName, c);
    drift.push(found);
  }
  return { checked, drift, hidden };
}

/** Deletes a hidden timeline entry (true), unless it is gone already (false). */
async function deleteEntry(db: DynamoDBDocumentClient, tableName: string, key: ItemKey): Promise<boolean> {
  try {
    await db.send(new DeleteCommand({ TableName: tableName, Key: key, ConditionExpression: 'attribute_exists(PK)' }));
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** A user's two follow counters with the edge counts they are compared against. */
const FOLLOW_COUNTERS = (followers: Map<string, number>, following: Map<string, number>) =>
  [
    ['user followerCount', 'followerCount', followers],
    ['user followingCount', 'followingCount', following],
  ] as const;

/** A user's two post counters with the counts they are compared against. */
const POST_COUNTERS = (published: Map<string, number>, liked: Map<string, number>) =>
  [
    ['user publishedCount', PUBLISHED_COUNT, published],
    ['user likedCount', LIKED_COUNT, liked],
  ] as const;

/** The stored counters of the table's items and their recounts, and the hidden timeline entries. */
function recount(items: Item[], now: Date): { counters: Counter[]; hidden: HiddenEntry[] } {
  const tagLinks = new Map<string, number>(); // by tag partition
  const categoryLinks = new Map<string, number>(); // by category id
  const likes = new Map<string, number>(); // by post partition
  const likeShards = new Map<string, number>(); // the like shards' counts (not tombstones), by post partition
  const commentShards = new Map<string, number>(); // the comment counter shards' counts (not tombstones), likewise
  const counted = new Map<string, number>(); // approved, live comments by post partition
  const commentLikes = new Map<string, number>(); // by `<post partition> <comment id>`
  const replies = new Map<string, number>(); // by `<post partition> <parent SK>`
  const pointerReplies = new Map<string, number>(); // counted on the parent's pointer: by the pointer's PK
  const postCounts = new Map<string, Item>(); // the COUNTS item by post partition
  const followers = new Map<string, number>(); // follow edges by followed user id
  const following = new Map<string, number>(); // follow edges by follower id
  const monthPosts = new Map<string, number>(); // published (or scheduled) posts by feed month
  const authorPosts = new Map<string, number>(); // published (or scheduled) posts by author id
  const userLikes = new Map<string, number>(); // like items by user id
  // The feed's day counts (src/posts/feed-days.ts), by `<user id> <d<yyyymmdd>>`, days of the window only.
  const readerDays = new Map<string, number>(); // timeline entries by reader and publication day
  const authorDays = new Map<string, number>(); // published (or scheduled) posts by author and day
  // What the feed shows of a timeline entry: its author followed, and not fan-in for the reader.
  const edges = new Set<string>(); // `<follower id> <author id>`
  const fanIn = new Map<string, string[]>(); // the reader's fan-in authors, by reader id
  const entries: Item[] = []; // timeline entries of the window, counted once edges and sets are known
  let activeAdmins = 0;
  for (const item of items) {
    const pk = String(item.PK);
    const sk = String(item.SK);
    if (item.entity === ENTITY.PostCounts) postCounts.set(pk, item);
    if (item.entity === ENTITY.PostLink && pk.startsWith(Keys.tagPartition(''))) increment(tagLinks, pk);
    else if (item.entity === ENTITY.PostLink) increment(categoryLinks, pk.slice(pk.indexOf('#') + 1));
    else if (item.entity === ENTITY.PostLikeShard) {
      const post = Keys.postPartition(String(classifyKey(keyOf(item)).id));
      if (item.deletedAt === undefined)
        likeShards.set(post, (likeShards.get(post) ?? 0) + (numberOrUndefined(item.likeCount) ?? 0));
    } else if (item.entity === ENTITY.PostCommentShard) {
      const post = Keys.postPartition(String(classifyKey(keyOf(item)).id));
      if (item.deletedAt === undefined)
        commentShards.set(post, (commentShards.get(post) ?? 0) + (numberOrUndefined(item.commentCount) ?? 0));
    } else if (item.entity === ENTITY.Like) {
      increment(likes, Keys.postPartition(String(item.postId)));
      // `likedCount` counts the likes of posts in the feeds, not the hidden ones (src/posts/like-visibility.ts).
      if (typeof item.GSI2SK !== 'string' || isCountedPosition(item.GSI2SK)) increment(userLikes, String(item.userId));
    } else if (item.entity === ENTITY.Post && item.status === 'published' && typeof item.publishedAt === 'string') {
      increment(monthPosts, feedBucket(item.publishedAt));
      increment(authorPosts, String(item.authorId));
      if (dayInWindow(item.publishedAt, now))
        increment(authorDays, `${String(item.authorId)} ${dayAttribute(item.publishedAt)}`);
    } else if (item.entity === ENTITY.TimelineEntry) {
      if (dayInWindow(publishedAtOf(item), now)) entries.push(item);
    } else if (item.entity === ENTITY.Follow) {
      edges.add(`${String(item.followerId)} ${String(item.authorId)}`);
      increment(followers, String(item.authorId));
      increment(following, String(item.followerId));
    } else if (item.entity === ENTITY.CommentLike) increment(commentLikes, `${pk} ${sk.split('#')[1]}`);
    else if (item.entity === ENTITY.Comment) {
      if (item.status === 'approved' && item.deleted !== true) increment(counted, pk);
      const parent = parentCommentKey(sk);
      if (parent && item.countedOnParentPointer === true)
        increment(pointerReplies, Keys.commentPointerOf({ PK: pk, SK: parent }).PK);
      else if (parent) increment(replies, `${pk} ${parent}`);
    } else if (item.entity === ENTITY.User && item.role === 'admin' && item.status === 'active') activeAdmins++;
    if (item.entity === ENTITY.FollowCounts)
      fanIn.set(pk.slice(pk.indexOf('#') + 1), followCountsOf(item).fanInAuthors);
  }
  const hidden: HiddenEntry[] = [];
  for (const entry of entries) {
    const pk = String(entry.PK);
    const readerId = pk.slice(pk.indexOf('#') + 1);
    const authorId = typeof entry.authorId === 'string' ? entry.authorId : undefined;
    const reason = !authorId
      ? 'no author'
      : !edges.has(`${readerId} ${authorId}`)
        ? 'not followed'
        : fanIn.get(readerId)?.includes(authorId)
          ? 'fan-in'
          : undefined;
    if (reason) hidden.push({ key: keyOf(entry), readerId, authorId, reason });
    else increment(readerDays, `${readerId} ${dayAttribute(publishedAtOf(entry))}`);
  }

  const counters: Counter[] = [];
  let adminCounter: Item | undefined;
  const followCounted = new Set<string>(); // users whose follow counter item exists
  const postCounted = new Set<string>(); // users whose post counter item exists
  const monthCounted = new Set<string>(); // months whose item exists
  const daysCounted = new Set<string>(); // readers whose FEED#DAYS item exists
  const pointersSeen = new Set<string>(); // comment pointers read (by PK)
  const window = windowDays(now);
  /** The window's day counts of a reader's or author's item: each day stored or with something to count. */
  const dayCounters = (item: Item, counter: CounterName, actuals: Map<string, number>, userId: string) => {
    for (const day of window) {
      const actual = actuals.get(`${userId} ${day}`) ?? 0;
      if (item[day] !== undefined || actual > 0)
        counters.push({
          counter,
          key: keyOf(item),
          attribute: day,
          stored: numberOrUndefined(item[day]),
          actual,
          mirrors: {},
        });
    }
  };
  for (const item of items) {
    const pk = String(item.PK);
    const at = (counter: CounterName, attribute: string, actual: number, mirrors: string[] = []) =>
      counters.push({
        counter,
        key: keyOf(item),
        attribute,
        stored: numberOrUndefined(item[attribute]),
        actual,
        mirrors: Object.fromEntries(mirrors.map((m) => [m, numberOrUndefined(item[m])])),
      });
    if (item.entity === ENTITY.Tag) at('tag postCount', 'postCount', tagLinks.get(pk) ?? 0, ['GSI5SK']);
    else if (item.entity === ENTITY.Category)
      at('category postCount', 'postCount', categoryLinks.get(String(item.id)) ?? 0);
    else if (item.entity === ENTITY.Post) {
      const counts = postCounts.get(pk);
      for (const [counter, attribute, actual] of [
        ['post likeCount', 'likeCount', likes.get(pk) ?? 0],
        ['post commentCount', 'commentCount', counted.get(pk) ?? 0],
      ] as const) {
        // The like and comment shards' counts too (exact at once; the snapshots the stream folds into
        // COUNTS follow them within moments, and are not what is checked: src/posts/like-shards.ts,
        // comment-shards.ts).
        const shards = attribute === 'likeCount' ? likeShards : commentShards;
        const base = (numberOrUndefined(item[attribute]) ?? 0) + (shards.get(pk) ?? 0);
        const value = numberOrUndefined(counts?.[attribute]);
        counters.push({
          counter,
          key: keyOf(item),
          attribute,
          stored: base + (value ?? 0),
          actual,
          mirrors: {},
          split: { key: { PK: pk, SK: 'COUNTS' }, base, value },
        });
      }
    } else if (item.entity === ENTITY.Comment) {
      at('comment likeCount', 'likeCount', commentLikes.get(`${pk} ${String(item.id)}`) ?? 0);
      const actual = replies.get(`${pk} ${String(item.SK)}`) ?? 0;
      // No replyCount and no reply is a comment never replied to, not drift.
      if (item.replyCount !== undefined || actual > 0) at('comment replyCount', 'replyCount', actual);
    } else if (item.entity === ENTITY.CommentPointer) {
      pointersSeen.add(pk);
      const actual = pointerReplies.get(pk) ?? 0;
      if (item.replyCount !== undefined || actual > 0) at('comment pointer replyCount', 'replyCount', actual);
    } else if (item.entity === ENTITY.FollowCounts) {
      const userId = pk.slice(pk.indexOf('#') + 1);
      followCounted.add(userId);
      // The item holds only the counters its follows have touched: a missing one with no edge is 0, not drift.
      for (const [counter, attribute, edges] of FOLLOW_COUNTERS(followers, following)) {
        const actual = edges.get(userId) ?? 0;
        if (item[attribute] !== undefined || actual > 0) at(counter, attribute, actual);
      }
    } else if (item.entity === ENTITY.UserPostCounts) {
      const userId = pk.slice(pk.indexOf('#') + 1);
      postCounted.add(userId);
      for (const [counter, attribute, counts] of POST_COUNTERS(authorPosts, userLikes)) {
        const actual = counts.get(userId) ?? 0;
        if (item[attribute] !== undefined || actual > 0) at(counter, attribute, actual);
      }
      dayCounters(item, 'author published day', authorDays, userId);
    } else if (item.entity === ENTITY.FeedDays) {
      const userId = pk.slice(pk.indexOf('#') + 1);
      daysCounted.add(userId);
      dayCounters(item, 'reader feed day', readerDays, userId);
    } else if (item.entity === ENTITY.FeedMonth) {
      const month = String(item.SK);
      monthCounted.add(month);
      const actual = monthPosts.get(month) ?? 0;
      if (item[PUBLISHED_COUNT] !== undefined || actual > 0) at('month publishedCount', PUBLISHED_COUNT, actual);
    } else if (pk === ADMIN_COUNTER_KEY.PK && item.SK === ADMIN_COUNTER_KEY.SK) adminCounter = item;
  }
  // Published posts or likes without their counter item (created by the first change): drift.
  const missing = (counter: CounterName, key: ItemKey, attribute: string, actual: number, createAs: string) =>
    counters.push({ counter, key, attribute, stored: undefined, actual, mirrors: {}, createAs });
  for (const [counter, attribute, counts] of POST_COUNTERS(authorPosts, userLikes))
    for (const [userId, actual] of counts)
      if (!postCounted.has(userId))
        missing(counter, Keys.userPostCounts(userId), attribute, actual, ENTITY.UserPostCounts);
  for (const [key, actual] of authorDays) {
    const [userId, day] = key.split(' ') as [string, string];
    if (!postCounted.has(userId))
      missing('author published day', Keys.userPostCounts(userId), day, actual, ENTITY.UserPostCounts);
  }
  for (const [key, actual] of readerDays) {
    const [userId, day] = key.split(' ') as [string, string];
    if (!daysCounted.has(userId)) missing('reader feed day', Keys.feedDays(userId), day, actual, ENTITY.FeedDays);
  }
  // Replies counted on a pointer that is gone (review 14, L-B1: its parent removed outside
  // `delete()`, e.g. an orphan pointer's removal): nothing holds their count. A repair cannot make
  // the pointer (its `path` is the parent's, and the parent may be gone too): reported only.
  for (const [pointerPk, actual] of pointerReplies)
    if (!pointersSeen.has(pointerPk))
      counters.push({
        counter: 'comment pointer replyCount',
        key: { PK: pointerPk, SK: Keys.commentPointer('', '').SK },
        attribute: 'replyCount',
        stored: undefined,
        actual,
        mirrors: {},
        notRepaired: 'pointer missing: not repaired, look at the parent comment',
      });
  for (const [month, actual] of monthPosts)
    if (!monthCounted.has(month))
      missing('month publishedCount', Keys.feedMonth(month), PUBLISHED_COUNT, actual, ENTITY.FeedMonth);
  // Follow edges without their users' counter item: the item is created by the first follow, so
  // its absence where edges exist is drift (a repair creates it).
  for (const [counter, attribute, edges] of FOLLOW_COUNTERS(followers, following))
    for (const [userId, actual] of edges)
      if (!followCounted.has(userId))
        counters.push({
          counter,
          key: Keys.followCounts(userId),
          attribute,
          stored: undefined,
          actual,
          mirrors: {},
          createAs: ENTITY.FollowCounts,
        });
  // A table that never had an active admin may have no counter item: not drift.
  if (adminCounter || activeAdmins > 0)
    counters.push({
      counter: 'activeAdmins',
      key: ADMIN_COUNTER_KEY,
      attribute: 'activeAdmins',
      stored: numberOrUndefined(adminCounter?.activeAdmins),
      actual: activeAdmins,
      mirrors: {},
    });
  return { counters, hidden };
}

/** Sets a counter (and its mirrors) to its recount, on condition that it still holds what was read. */
async function repair(db: DynamoDBDocumentClient, tableName: string, c: Counter): Promise<boolean> {
  const isAdminCounter = c.key.PK === ADMIN_COUNTER_KEY.PK && c.key.SK === ADMIN_COUNTER_KEY.SK;
  const attributes = [c.attribute, ...Object.keys(c.mirrors)];
  // The value on the item written, as read: the condition that no write landed since.
  const read = c.split ? c.split.value : c.stored;
  const asRead = read === undefined ? 'attribute_not_exists(#a0)' : '#a0 = :read';
  // Counter items may be missing (the admin counter, a post's COUNTS item, a user's follow counts)
  // and are then created; a post's deleted COUNTS item (a tombstone) is left alone. Any other item
  // must still exist.
  const condition =
    isAdminCounter || c.createAs
      ? asRead
      : c.split
        ? `attribute_not_exists(deletedAt) AND ${asRead}`
        : `attribute_exists(PK) AND ${asRead}`;
  const entity = isAdminCounter ? ENTITY.Counter : c.split ? ENTITY.PostCounts : c.createAs;
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: c.split?.key ?? c.key,
        UpdateExpression: `SET ${attributes.map((_, i) => `#a${i} = ${i === 0 ? ':value' : ':actual'}`).join(', ')}${entity ? ', entity = :entity' : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])),
        ExpressionAttributeValues: {
          ':value': c.actual - (c.split?.base ?? 0),
          ...(attributes.length > 1 ? { ':actual': c.actual } : {}),
          ...(read === undefined ? {} : { ':read': read }),
          ...(entity ? { ':entity': entity } : {}),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** A hidden entry's line for people: which entry, why, and with `fix` whether it was deleted. */
export function describeHidden(h: HiddenEntry): string {
  const outcome = h.deleted === undefined ? '' : h.deleted ? ' (deleted)' : ' (gone meanwhile)';
  const why = h.authorId === undefined ? 'no author' : `author ${h.authorId} ${h.reason}`;
  return `hidden timeline entry ${h.key.PK} ${h.key.SK}: ${why}, not counted${outcome}`;
}

/** A drift line for people: which counter, on which item, stored and actual, and the repair's outcome. */
export function describeDrift(d: CounterDrift): string {
  const outcome = d.notRepaired
    ? ` (${d.notRepaired})`
    : d.fixed === undefined
      ? ''
      : d.fixed
        ? ' (fixed)'
        : ' (changed meanwhile, not fixed: run again)';
  const copies = Object.entries(d.mirrors)
    .filter(([, value]) => value !== d.actual)
    .map(([name, value]) => `, ${name} ${value ?? 'none'}`)
    .join('');
  return `${d.counter} of ${d.key.PK} ${d.key.SK}: stored ${d.stored ?? 'none'}${copies}, actual ${d.actual}${outcome}`;
}
