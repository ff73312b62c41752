import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { parentCommentKey } from '../comments/comment-keys.js';
import { ENTITY } from '../dynamo/keys.js';
import type { Item, Migration, MigrationContext } from './migration.js';

/**
 * How many comments are attached directly to this one and counted on it: a Query of the keys under
 * its path. A reply made while its post was hot counts on the parent's pointer
 * (`countedOnParentPointer`), not on the parent: counting it here too would count it twice when
 * this runs again on a later layout (by hand, its record deleted).
 */
async function countReplies(comment: Item, { client, tableName }: MigrationContext): Promise<number> {
  const parentKey = comment.SK.S!;
  let count = 0;
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': comment.PK, ':prefix': { S: `${parentKey}/` } },
        ProjectionExpression: 'SK, countedOnParentPointer',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    count += (page.Items ?? []).filter(
      (reply) => parentCommentKey(reply.SK.S!) === parentKey && reply.countedOnParentPointer?.BOOL !== true,
    ).length;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}

/**
 * Comments created before `replyCount` existed have none (or count only the replies made since),
 * so a hard delete, conditioned on `replyCount` being 0, relies on the extra Query under the
 * comment's path to find their older replies. This sets every comment's `replyCount` to the
 * number of comments attached to it, tombstones included (they keep their replies attached),
 * except the replies counted on its pointer (a hot post's, by later versions).
 *
 * The update is conditioned on the `replyCount` the migration read, so a reply or a delete that
 * lands between the count and the write makes the write fail (and the comment is counted again by
 * the next run) instead of overwriting the live change. A comment whose count is right is left
 * alone: a second run changes nothing.
 *
 * Online: the code of this version still checks for replies with the Query while it runs.
 */
export const backfillReplyCounts = {
  version: 2,
  name: 'backfill-reply-counts',
  description: 'replyCount on every comment = the comments attached to it',
  online: true,
  filter: {
    expression: '#entity = :comment',
    names: { '#entity': 'entity' },
    values: { ':comment': { S: ENTITY.Comment } },
  },
  async migrate(item: Item, context: MigrationContext) {
    if (item.entity?.S !== ENTITY.Comment || !item.SK?.S) return undefined;
    const replies = await countReplies(item, context);
    const stored = item.replyCount?.N;
    if (Number(stored ?? 0) === replies) return undefined;
    return {
      description: `${item.PK.S} ${item.SK.S}: replyCount ${stored ?? 'absent'} -> ${replies}`,
      updateExpression: 'SET replyCount = :replies',
      conditionExpression:
        stored === undefined ? 'attribute_exists(PK) AND attribute_not_exists(replyCount)' : 'replyCount = :stored',
      values: { ':replies': { N: String(replies) }, ...(stored === undefined ? {} : { ':stored': { N: stored } }) },
    };
  },
} satisfies Migration;
