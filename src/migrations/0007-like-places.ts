import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { batchGetAll } from '../dynamo/batch.js';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { ENTITY, Keys, PostIndexKeys } from '../dynamo/keys.js';
import { queryAll } from '../dynamo/pagination.js';
import { GSI } from '../dynamo/table.definition.js';
import { isCountedPosition, likePosition, placesLikes } from '../posts/like-visibility.js';
import type { PostSummary } from '../posts/post.entity.js';
import { LIKED_COUNT } from '../posts/published-counters.js';
import type { Item, ItemSkipped, ItemUpdate, Migration, MigrationContext } from './migration.js';

/** The summary of a post as it is now (consistent), or undefined when it is deleted. */
async function summaryOf({ client, tableName }: MigrationContext, postId: string) {
  const key = Keys.post(postId);
  const result = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { PK: { S: key.PK }, SK: { S: key.SK } }, ConsistentRead: true }),
  );
  const item = result.Item;
  if (!item) return undefined;
  return { status: item.status?.S, publishedAt: item.publishedAt?.S } as Pick<PostSummary, 'status' | 'publishedAt'>;
}

/**
 * How many of a user's likes `likedCount` counts once every like is in its place: those whose
 * post is in the feeds, and those of a post deleted whose cascade has not run (their place is
 * counted until the cascade removes them with their count).
 */
async function countedLikes({ client, tableName }: MigrationContext, userId: string): Promise<number> {
  const db = createDocumentClient(client);
  const likes = await queryAll(db, {
    TableName: tableName,
    IndexName: GSI.GSI2.name,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': GSI.GSI2.partitionKey, '#sk': GSI.GSI2.sortKey },
    ExpressionAttributeValues: { ':pk': PostIndexKeys.likesPartition(userId) },
    ProjectionExpression: 'postId, #sk',
  });
  const posts = await batchGetAll(
    db,
    tableName,
    [...new Set(likes.map((like) => String(like.postId)))].map((postId) => Keys.post(postId)),
    { consistentRead: true },
  );
  const byId = new Map(posts.map((post) => [String(post.id), post as unknown as PostSummary]));
  return likes.filter((like) => {
    const post = byId.get(String(like.postId));
    return post ? placesLikes(post) : isCountedPosition(String(like.GSI2SK));
  }).length;
}

/**
 * `?favorited=` articlesCount is exact (issue 18): a like sits in its user's likes index at a
 * place its post's state gives it (src/posts/like-visibility.ts), hidden while the post is
 * withdrawn and placed at the post's time while it is scheduled, and `likedCount` counts the
 * likes not hidden. The code of this version keeps both (the stream processor moves a post's
 * likes when its visibility changes). On a table written before, every like sat at its like
 * time and every like was counted; this sets once:
 * - each like: its place, from its post's summary (a deleted post's likes are left to its cascade);
 * - each user: `likedCount` = their likes whose post is in the feeds (plus a deleted post's likes
 *   still waiting for their cascade, which counts them down), on condition of the value read.
 *
 * Offline (the app refuses to start while it is pending): the app of this version would list
 * and count a withdrawn post's likes that no stream record will ever move. A second run changes
 * nothing (each update requires the old place or count it read).
 */
export const likePlaces = {
  version: 7,
  name: 'like-places',
  description: "each like's place in its user's likes index from its post's state; likedCount = likes not hidden",
  online: false,
  filter: {
    expression: '#entity IN (:user, :like)',
    names: { '#entity': 'entity' },
    values: { ':user': { S: ENTITY.User }, ':like': { S: ENTITY.Like } },
  },
  async migrate(item: Item, context: MigrationContext): Promise<ItemUpdate | ItemSkipped | undefined> {
    const entity = item.entity?.S;
    if (entity === ENTITY.Like && item.postId?.S && item.likedAt?.S) {
      const post = await summaryOf(context, item.postId.S);
      if (!post) return undefined;
      const place = likePosition({ likedAt: item.likedAt.S, postId: item.postId.S }, post);
      const old = item.GSI2SK?.S;
      if (old === place) return undefined;
      return {
        description: `${item.PK.S} ${item.SK.S}: place ${old ?? 'absent'} -> ${place}`,
        updateExpression: 'SET GSI2SK = :place',
        conditionExpression:
          old === undefined ? 'attribute_exists(PK) AND attribute_not_exists(GSI2SK)' : 'GSI2SK = :old',
        values: { ':place': { S: place }, ...(old === undefined ? {} : { ':old': { S: old } }) },
      };
    }
    if (entity === ENTITY.User && typeof item.id?.S === 'string') {
      const userId = item.id.S;
      const key = Keys.userPostCounts(userId);
      const [stored, liked] = await Promise.all([
        context.client.send(
          new GetItemCommand({
            TableName: context.tableName,
            Key: { PK: { S: key.PK }, SK: { S: key.SK } },
            ConsistentRead: true,
          }),
        ),
        countedLikes(context, userId),
      ]);
      const read = stored.Item?.[LIKED_COUNT]?.N;
      if (Number(read ?? 0) === liked) return undefined;
      return {
        description: `${key.PK} ${key.SK}: ${LIKED_COUNT} ${read ?? 'absent'} -> ${liked}`,
        key: { PK: { S: key.PK }, SK: { S: key.SK } },
        updateExpression: 'SET entity = :entity, #liked = :liked',
        conditionExpression: read === undefined ? 'attribute_not_exists(#liked)' : '#liked = :read',
        names: { '#liked': LIKED_COUNT },
        values: {
          ':entity': { S: ENTITY.UserPostCounts },
          ':liked': { N: String(liked) },
          ...(read === undefined ? {} : { ':read': { N: read } }),
        },
      };
    }
    // The filter matched it as a like or a user: without these it has no place or count to set.
    if (entity === ENTITY.Like) return { skipped: 'a like without postId or likedAt' };
    if (entity === ENTITY.User) return { skipped: 'a user item without id' };
    return undefined;
  },
} satisfies Migration;
