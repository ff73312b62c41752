import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { countAll } from '../dynamo/pagination.js';
import { ENTITY, Keys, PostIndexKeys } from '../dynamo/keys.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';
import { GSI, type GsiName } from '../dynamo/table.definition.js';
import { LIKED_COUNT, PUBLISHED_COUNT } from '../posts/published-counters.js';
import type { Item, ItemUpdate, Migration, MigrationContext } from './migration.js';

/** How many entries an index partition holds: Queries with `Select: COUNT` (no item is returned). */
function countEntries({ client, tableName }: MigrationContext, index: GsiName, partition: string): Promise<number> {
  const gsi = GSI[index];
  return countAll(createDocumentClient(client), {
    TableName: tableName,
    IndexName: gsi.name,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': gsi.partitionKey },
    ExpressionAttributeValues: { ':pk': partition },
  });
}

/**
 * Sets counters on `key` to `actual`, conditioned on each holding what was read (absent or its
 * number), so a count that changed meanwhile is left for the next run; nothing when they match.
 */
function setCounters(
  label: string,
  key: Item,
  entity: string,
  stored: Item | undefined,
  actual: Record<string, number>,
): ItemUpdate | undefined {
  const names = Object.keys(actual);
  const read = names.map((name) => stored?.[name]?.N);
  // A missing counter reads as 0 (the first change creates it), so one that should be 0 is right.
  if (names.every((name, i) => Number(read[i] ?? 0) === actual[name])) return undefined;
  return {
    description: `${label}: ${names.map((name, i) => `${name} ${read[i] ?? 'absent'} -> ${actual[name]}`).join(', ')}`,
    key,
    updateExpression: `SET entity = :entity, ${names.map((_, i) => `#c${i} = :v${i}`).join(', ')}`,
    conditionExpression: names
      .map((_, i) => (read[i] === undefined ? `attribute_not_exists(#c${i})` : `#c${i} = :r${i}`))
      .join(' AND '),
    names: Object.fromEntries(names.map((name, i) => [`#c${i}`, name])),
    values: {
      ':entity': { S: entity },
      ...Object.fromEntries(names.map((name, i) => [`:v${i}`, { N: String(actual[name]) }])),
      ...Object.fromEntries(read.flatMap((value, i) => (value === undefined ? [] : [[`:r${i}`, { N: value }]]))),
    },
  };
}

/**
 * Conduit's `articlesCount` comes from counters (docs/conduit.md), which the code of this version
 * keeps in the transactions that publish, withdraw and delete posts and like and unlike them
 * (src/posts/published-counters.ts). On a table written before, this sets them once:
 * - each month of the global feed (`FEED#MONTHS`): `publishedCount` = the entries of its month's
 *   feed partition (GSI1), published and scheduled posts;
 * - each user: `publishedCount` = the entries of their author feed (GSI2) and `likedCount` = their
 *   likes (GSI2), on the user's `USER#POSTS` item.
 *
 * Each update is conditioned on the counters the migration read, so one the app changed meanwhile
 * is left (the next run, or `db:check-counts --fix`, settles it); counters already right are left
 * alone, so a second run changes nothing. The counts come from Queries of indexes (eventually
 * consistent), so run it with the app stopped: it is offline, and the app refuses to start while
 * it is pending (this version would serve counts that miss the older posts and likes).
 */
export const publishedPostCounters = {
  version: 5,
  name: 'published-post-counters',
  description: 'publishedCount on each feed month and user, likedCount on each user',
  online: false,
  filter: {
    expression: '#entity IN (:user, :month)',
    names: { '#entity': 'entity' },
    values: { ':user': { S: ENTITY.User }, ':month': { S: ENTITY.FeedMonth } },
  },
  async migrate(item: Item, context: MigrationContext) {
    const entity = item.entity?.S;
    if (entity === ENTITY.FeedMonth && item.SK?.S) {
      const month = item.SK.S;
      const published = await countEntries(
        context,
        INDEX_PATTERNS.globalFeedMonth.index,
        PostIndexKeys.feedPartition(month),
      );
      return setCounters(`${item.PK.S} ${month}`, { PK: item.PK, SK: item.SK }, ENTITY.FeedMonth, item, {
        [PUBLISHED_COUNT]: published,
      });
    }
    if (entity === ENTITY.User && typeof item.id?.S === 'string') {
      const userId = item.id.S;
      const key = Keys.userPostCounts(userId);
      const [stored, published, liked] = await Promise.all([
        context.client.send(
          new GetItemCommand({
            TableName: context.tableName,
            Key: { PK: { S: key.PK }, SK: { S: key.SK } },
            ConsistentRead: true,
          }),
        ),
        countEntries(context, INDEX_PATTERNS.authorPublished.index, PostIndexKeys.authorPublishedPartition(userId)),
        countEntries(context, INDEX_PATTERNS.likesBy.index, PostIndexKeys.likesPartition(userId)),
      ]);
      return setCounters(
        `${key.PK} ${key.SK}`,
        { PK: { S: key.PK }, SK: { S: key.SK } },
        ENTITY.UserPostCounts,
        stored.Item,
        { [PUBLISHED_COUNT]: published, [LIKED_COUNT]: liked },
      );
    }
    return undefined;
  },
} satisfies Migration;
