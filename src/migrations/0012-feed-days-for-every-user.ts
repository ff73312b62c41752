import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ENTITY, Keys } from '../dynamo/keys.js';
import type { Item, ItemSkipped, ItemUpdate, Migration, MigrationContext } from './migration.js';

/**
 * Review 14, L-C2: the feed's fan-out wrote a reader's timeline entry and day count on condition
 * that the reader's user item was there (a ConditionCheck in its transaction), so the reader's
 * own writes to that item (sign-in, profile) could fail with TransactionConflict while a fan-out
 * held it. The code of this version conditions the day count's update on the reader's
 * `FEED#DAYS` instead: made with the account, deleted by its erasure, written by no request. A
 * user registered before has one only if an earlier fan-out (or 0009) counted something for them:
 * this makes the missing ones, empty.
 *
 * The write (an `UpdateItem SET entity`, which creates the item) is conditioned on the item being
 * absent, so a second run, or one after the processor counted something meanwhile, changes nothing. Offline: this version writes no timeline entry for
 * a reader without the item, so until it is done their feeds miss new posts; the app refuses to
 * start while it is pending. A user erased during the run could get their item back (the Scan read
 * them before the erasure): with the app stopped, no erasure starts.
 */
export const feedDaysForEveryUser = {
  version: 12,
  name: 'feed-days-for-every-user',
  description: "an empty FEED#DAYS for every user without one (the fan-out's condition that the reader exists)",
  online: false,
  filter: {
    expression: '#entity = :user',
    names: { '#entity': 'entity' },
    values: { ':user': { S: ENTITY.User } },
  },
  async migrate(item: Item, context: MigrationContext): Promise<ItemUpdate | ItemSkipped | undefined> {
    if (item.entity?.S !== ENTITY.User) return undefined;
    const userId = item.id?.S;
    if (!userId) return { skipped: 'a user item without id' };
    const key = Keys.feedDays(userId);
    const { Item: existing } = await context.client.send(
      new GetItemCommand({
        TableName: context.tableName,
        Key: { PK: { S: key.PK }, SK: { S: key.SK } },
        ProjectionExpression: 'PK',
        ConsistentRead: true,
      }),
    );
    if (existing) return undefined;
    return {
      description: `${key.PK} ${key.SK}: created (empty)`,
      key: { PK: { S: key.PK }, SK: { S: key.SK } },
      updateExpression: 'SET entity = :entity',
      conditionExpression: 'attribute_not_exists(PK)',
      values: { ':entity': { S: ENTITY.FeedDays } },
    };
  },
} satisfies Migration;
