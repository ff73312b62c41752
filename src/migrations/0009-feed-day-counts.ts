import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { systemClock } from '../common/clock/clock.js';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { ENTITY, type ItemKey, Keys, PostIndexKeys } from '../dynamo/keys.js';
import { batchGetAll, batchWriteAll } from '../dynamo/batch.js';
import { queryAll } from '../dynamo/pagination.js';
import { followCountsOf } from '../follows/follow-items.js';
import { GSI } from '../dynamo/table.definition.js';
import { dayAttribute, dayInWindow, timelineEntryTtl, windowDays, windowStart } from '../posts/feed-days.js';
import type { Item, ItemSkipped, ItemUpdate, Migration, MigrationContext } from './migration.js';

/** `<publishedAt>#<postId>` (a timeline entry's SK, an author's published position) -> publishedAt. */
const publishedAtOf = (position: string, postId: string): string =>
  position.slice(0, position.length - postId.length - 1);

/** Counts by day attribute of the publication times inside the window. */
function byDay(publishedAts: string[], now: Date): Map<string, number> {
  const days = new Map<string, number>();
  for (const at of publishedAts.filter((at) => dayInWindow(at, now))) {
    days.set(dayAttribute(at), (days.get(dayAttribute(at)) ?? 0) + 1);
  }
  return days;
}

/**
 * Sets the window's day counts on `key` to `actual`, each conditioned on the value read (absent
 * or its number), so a count the app changed meanwhile is left for the next run (or
 * `db:check-counts --fix`); nothing when they all match. Days past the window are not summed and
 * are left alone.
 */
function setDays(key: ItemKey, entity: string, stored: Item | undefined, actual: Map<string, number>, now: Date) {
  const days = windowDays(now).filter((day) => Number(stored?.[day]?.N ?? 0) !== (actual.get(day) ?? 0));
  if (days.length === 0) return undefined;
  const read = days.map((day) => stored?.[day]?.N);
  return {
    description: `${key.PK} ${key.SK}: ${days.map((day, i) => `${day} ${read[i] ?? 'absent'} -> ${actual.get(day) ?? 0}`).join(', ')}`,
    key: { PK: { S: key.PK }, SK: { S: key.SK } },
    updateExpression: `SET entity = :entity, ${days.map((_, i) => `#d${i} = :v${i}`).join(', ')}`,
    conditionExpression: days
      .map((_, i) => (read[i] === undefined ? `attribute_not_exists(#d${i})` : `#d${i} = :r${i}`))
      .join(' AND '),
    names: Object.fromEntries(days.map((day, i) => [`#d${i}`, day])),
    values: {
      ':entity': { S: entity },
      ...Object.fromEntries(days.map((day, i) => [`:v${i}`, { N: String(actual.get(day) ?? 0) }])),
      ...Object.fromEntries(read.flatMap((value, i) => (value === undefined ? [] : [[`:r${i}`, { N: value }]]))),
    },
  } satisfies ItemUpdate;
}

/**
 * A reader's timeline entries by publication day (the whole partition: offline, keys only), less
 * the entries of the window the feed never shows: an author the reader no longer follows (an
 * unfollow left them, before this version), or one the reader merges in as fan-in (a promotion
 * left the entries fanned out before it: counted there by the author's own day counts), and an
 * entry without `authorId` (the feed never shows one). Those are
 * deleted, not only left out: an entry left in place but uncounted would later be taken out by a
 * withdrawal with its day's -1, and push the count too low. The follow edges of the window's
 * distinct authors and the reader's fan-in set are read in one consistent BatchGetItem (chunks of
 * 100 keys). Returns the counts and the hidden entries (deleted unless `dryRun`).
 */
async function timelineDays({ client, tableName, dryRun }: MigrationContext, readerId: string, now: Date) {
  const db = createDocumentClient(client);
  const entries = (
    await queryAll(db, {
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': Keys.timelinePartition(readerId) },
      ProjectionExpression: 'SK, postId, authorId',
    })
  ).map((entry) => ({
    SK: String(entry.SK),
    authorId: typeof entry.authorId === 'string' ? entry.authorId : undefined,
    publishedAt: publishedAtOf(String(entry.SK), String(entry.postId)),
  }));
  const inWindow = entries.filter((entry) => dayInWindow(entry.publishedAt, now));
  const authors = [...new Set(inWindow.flatMap((entry) => (entry.authorId ? [entry.authorId] : [])))];
  const hiddenAuthors = new Set<string>();
  if (authors.length > 0) {
    const items = await batchGetAll(
      db,
      tableName,
      [Keys.followCounts(readerId), ...authors.map((authorId) => Keys.follow(readerId, authorId))],
      { consistentRead: true },
    );
    const fanIn = followCountsOf(items.find((item) => item.SK === Keys.followCounts(readerId).SK)).fanInAuthors;
    const followed = new Set(items.flatMap((item) => (item.entity === ENTITY.Follow ? [String(item.authorId)] : [])));
    for (const authorId of authors)
      if (!followed.has(authorId) || fanIn.includes(authorId)) hiddenAuthors.add(authorId);
  }
  // An entry that names no author is never shown either (the feed shows an entry only when its
  // `authorId` is the post's author, followed): deleted, not counted, like the others.
  const hidden = inWindow.filter((entry) => entry.authorId === undefined || hiddenAuthors.has(entry.authorId));
  if (!dryRun && hidden.length > 0)
    await batchWriteAll(
      db,
      tableName,
      hidden.map((entry) => ({ DeleteRequest: { Key: { PK: Keys.timelinePartition(readerId), SK: entry.SK } } })),
    );
  return {
    days: byDay(
      entries.filter((entry) => !hidden.includes(entry)).map((entry) => entry.publishedAt),
      now,
    ),
    hidden: hidden.length,
  };
}

/** An author's published (or scheduled) posts by publication day: their GSI2 positions from the window's first day on. */
async function authorDays({ client, tableName }: MigrationContext, authorId: string, now: Date) {
  const positions = await queryAll(createDocumentClient(client), {
    TableName: tableName,
    IndexName: GSI.GSI2.name,
    KeyConditionExpression: '#pk = :pk AND #sk >= :from',
    ExpressionAttributeNames: { '#pk': GSI.GSI2.partitionKey, '#sk': GSI.GSI2.sortKey, '#id': 'id' },
    ExpressionAttributeValues: {
      ':pk': PostIndexKeys.authorPublishedPartition(authorId),
      ':from': windowStart(now),
    },
    ProjectionExpression: '#id, #sk',
  });
  return byDay(
    positions.map((p) => publishedAtOf(String(p[GSI.GSI2.sortKey]), String(p.id))),
    now,
  );
}

/**
 * The personal feed's `articlesCount` comes from day counts (src/posts/feed-days.ts), which the
 * code of this version keeps with the timeline entries (the stream processor's fan-out) and with
 * an author's published posts (the transactions that change `publishedCount`). On a table written
 * before, this:
 * - aligns each timeline entry's `ttl` to the end of its publication day plus 30 days (it was the
 *   publication time plus 30 days), so a day leaves the summed window when its entries expire;
 * - sets each user's `FEED#DAYS` to their timeline entries per publication day of the window
 *   that the feed shows, after deleting the others (an unfollowed or fan-in author's: see
 *   `timelineDays`);
 * - sets the day counts on the `USER#POSTS` item of each author with a post in the window (found
 *   from their published posts, so an author without the item gets it) to their published posts
 *   per day.
 *
 * Each update is conditioned on what the migration read, so one the app or the processor changed
 * meanwhile is left (the next run, or `db:check-counts --fix`, settles it); counts already right
 * are left alone, so a second run changes nothing. Offline, as 0005: this version would serve
 * feed counts that miss the entries written before it. An entry TTL deletes between the count and
 * its alignment leaves its day one high until `db:check-counts --fix` (or the day leaves the window).
 */
/** A counter item as stored now (consistent), to compare with its recount. */
async function storedCounter(context: MigrationContext, key: { PK: string; SK: string }): Promise<Item | undefined> {
  const { Item } = await context.client.send(
    new GetItemCommand({
      TableName: context.tableName,
      Key: { PK: { S: key.PK }, SK: { S: key.SK } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

export const feedDayCounts = {
  version: 9,
  name: 'feed-day-counts',
  description: "timeline entries' ttl to the end of their day + 30 days; FEED#DAYS and authors' day counts",
  online: false,
  filter: {
    expression: '#entity IN (:user, :entry, :post)',
    names: { '#entity': 'entity' },
    values: {
      ':user': { S: ENTITY.User },
      ':entry': { S: ENTITY.TimelineEntry },
      ':post': { S: ENTITY.Post },
    },
  },
  async migrate(item: Item, context: MigrationContext): Promise<ItemUpdate | ItemSkipped | undefined> {
    const entity = item.entity?.S;
    const now = systemClock.now();
    if (entity === ENTITY.TimelineEntry) {
      const postId = item.postId?.S;
      if (!postId || !item.SK?.S) return { skipped: 'a timeline entry without postId' };
      const ttl = String(timelineEntryTtl(publishedAtOf(item.SK.S, postId)));
      if (item.ttl?.N === ttl) return undefined;
      return {
        description: `${item.PK.S} ${item.SK.S}: ttl ${item.ttl?.N ?? 'absent'} -> ${ttl}`,
        updateExpression: 'SET #ttl = :ttl',
        conditionExpression: item.ttl?.N
          ? 'attribute_exists(PK) AND #ttl = :old'
          : 'attribute_exists(PK) AND attribute_not_exists(#ttl)',
        names: { '#ttl': 'ttl' },
        values: { ':ttl': { N: ttl }, ...(item.ttl?.N ? { ':old': { N: item.ttl.N } } : {}) },
      };
    }
    if (entity === ENTITY.User) {
      const userId = item.id?.S;
      if (!userId) return { skipped: 'a user item without id' };
      const key = Keys.feedDays(userId);
      const [stored, actual] = await Promise.all([storedCounter(context, key), timelineDays(context, userId, now)]);
      const update = setDays(key, ENTITY.FeedDays, stored, actual.days, now);
      if (update && actual.hidden > 0)
        update.description += ` (${actual.hidden} hidden entries ${context.dryRun ? 'to delete' : 'deleted'}, not counted)`;
      return update;
    }
    if (entity === ENTITY.Post && item.status?.S === 'published' && item.publishedAt?.S) {
      // A post of the window: its author's day counts, recounted (the author's other posts of the
      // window find them right and change nothing).
      if (!dayInWindow(item.publishedAt.S, now)) return undefined;
      const authorId = item.authorId?.S;
      if (!authorId) return { skipped: 'a published post without authorId' };
      const key = Keys.userPostCounts(authorId);
      const [stored, actual] = await Promise.all([storedCounter(context, key), authorDays(context, authorId, now)]);
      return setDays(key, ENTITY.UserPostCounts, stored, actual, now);
    }
    return undefined;
  },
} satisfies Migration;
