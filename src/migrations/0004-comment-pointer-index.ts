import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CommentIndexKeys, ENTITY, Keys } from '../dynamo/keys.js';
import type { Item, Migration, MigrationContext } from './migration.js';

const LEGACY_INDEX_ATTRIBUTES = ['GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK'];

/** The comment a pointer names (strongly consistent), or undefined. */
async function commentOf(pointer: Item, { client, tableName }: MigrationContext): Promise<Item | undefined> {
  const result = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: marshall({ PK: pointer.PK.S!, SK: Keys.comment('', pointer.path.S!).SK }),
      ConsistentRead: true,
    }),
  );
  return result.Item;
}

/** A pointer's GSI6 keys, and the GSI2/GSI3 keys comments no longer carry. */
function pointerUpdate(pointer: Item, comment: Item | undefined) {
  const authorId = comment?.authorId?.S;
  if (!comment || !authorId || comment.deleted?.BOOL === true) return undefined;
  const keys = CommentIndexKeys.commenter({
    authorId,
    status: comment.status?.S ?? '',
    createdAt: comment.createdAt?.S ?? '',
    id: comment.id?.S ?? '',
  });
  return {
    description: `${pointer.PK.S} ${pointer.SK.S}: GSI6PK=${keys.GSI6PK}`,
    updateExpression: 'SET GSI6PK = :pk, GSI6SK = :sk',
    conditionExpression: 'attribute_exists(PK) AND attribute_not_exists(GSI6PK)',
    values: { ':pk': { S: keys.GSI6PK }, ':sk': { S: keys.GSI6SK } },
  };
}

/**
 * Comments listed a user's comments on GSI2 (approved) and GSI3 (all), both projecting the whole
 * comment: a 1 KB comment wrote 4 index units more in its transaction, and every like or edit of it
 * rewrote them. Now the comment's pointer carries one GSI6 entry (projection: the path). This gives
 * every pointer of a live, authored comment its GSI6 keys and removes the GSI2 and GSI3 keys from
 * every comment (so their index entries go). Each write is conditioned on the change still being
 * needed, so a second run, or a save of the comment since, changes nothing.
 *
 * Offline: this version lists, exports and anonymises a user's comments from GSI6 only, so a
 * comment not yet migrated would be missing from them. Stop writes, migrate, deploy.
 */
export const commentPointerIndex = {
  version: 4,
  name: 'comment-pointer-index',
  description: "a commenter's comments on GSI6 of the comment pointers; GSI2/GSI3 keys off the comments",
  online: false,
  filter: {
    expression: '#entity IN (:comment, :pointer)',
    names: { '#entity': 'entity' },
    values: { ':comment': { S: ENTITY.Comment }, ':pointer': { S: ENTITY.CommentPointer } },
  },
  async migrate(item: Item, context: MigrationContext) {
    if (item.entity?.S === ENTITY.CommentPointer) {
      if (item.GSI6PK !== undefined || !item.path?.S) return undefined;
      return pointerUpdate(item, await commentOf(item, context));
    }
    if (item.entity?.S !== ENTITY.Comment) return undefined;
    const legacy = LEGACY_INDEX_ATTRIBUTES.filter((name) => item[name] !== undefined);
    if (legacy.length === 0) return undefined;
    return {
      description: `${item.PK.S} ${item.SK.S}: ${legacy.join(', ')} removed`,
      updateExpression: `REMOVE ${LEGACY_INDEX_ATTRIBUTES.join(', ')}`,
      conditionExpression: 'attribute_exists(PK) AND (attribute_exists(GSI2PK) OR attribute_exists(GSI3PK))',
    };
  },
} satisfies Migration;
