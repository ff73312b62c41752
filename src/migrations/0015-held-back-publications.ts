import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { systemClock } from '../common/clock/clock.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import type { Item, ItemUpdate, Migration, MigrationContext } from './migration.js';

/**
 * The post summary attribute this migration sets: the `publishedAt` a `post.published` is to be held
 * back for (src/events/outbound-event.ts reads its change as "hold that publication back").
 */
export const PUBLICATION_HELD_BACK = 'publicationHeldBack';

const TARGETS_KEY = { PK: { S: Keys.webhookTargets.PK }, SK: { S: Keys.webhookTargets.SK } };

/** Whether the table's set of known webhooks (`WEBHOOKS#TARGETS`) holds `target` already: one consistent GetItem. */
async function knownTarget(target: string, { client, tableName }: MigrationContext): Promise<boolean> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: TARGETS_KEY,
      ProjectionExpression: 'targets',
      ConsistentRead: true,
    }),
  );
  return Item?.targets?.SS?.includes(target) ?? false;
}

/**
 * Two leftovers of session 22 (docs/streams.md, "A scheduled post's time" and "Design"):
 *
 * - **Posts scheduled before session 22** had their `post.scheduled` handled by the version before,
 *   which held nothing back: no `post.published` came at their time. Each post still scheduled
 *   (published, `publishedAt` ahead of the run) gets `publicationHeldBack = <publishedAt>`, one
 *   `UpdateItem` conditioned on the post being still published at that time. Its stream record is
 *   what the stream processor turns into the held-back `post.published` (with the webhook list only
 *   the worker has, filters included), exactly as a `post.scheduled` does; its id comes from the post
 *   and the time, so a post whose event is held back already stores nothing more. Posts whose time
 *   came before the run are left (their `post.published` would come late, after a mirror that reads
 *   at the time showed them).
 * - **Webhooks removed before session 22** are not in `WEBHOOKS#TARGETS`, so their pending
 *   deliveries stayed pending until they expired. The target of each pending delivery not in the set
 *   yet is added to it (an `UpdateItem` of the set, after a consistent `GetItem` of it): a dispatcher
 *   started afterwards drops the deliveries of the targets not configured.
 *
 * Online: this version serves correct reads and sends correct events while it is pending.
 */
export const heldBackPublications = {
  version: 15,
  name: 'held-back-publications',
  description:
    "a post.published held back for each post scheduled before session 22; removed webhooks' pending deliveries' targets into WEBHOOKS#TARGETS",
  online: true,
  filter: {
    expression: '(#entity = :post AND #status = :published) OR (#entity = :delivery AND #state = :pending)',
    names: { '#entity': 'entity', '#status': 'status', '#state': 'state' },
    values: {
      ':post': { S: ENTITY.Post },
      ':published': { S: 'published' },
      ':delivery': { S: ENTITY.WebhookDelivery },
      ':pending': { S: 'pending' },
    },
  },
  async migrate(item: Item, context: MigrationContext): Promise<ItemUpdate | undefined> {
    const s = (name: string) => item[name]?.S;
    if (s('entity') === ENTITY.Post) {
      const publishedAt = s('publishedAt');
      if (s('status') !== 'published' || !publishedAt || publishedAt <= systemClock.now().toISOString())
        return undefined;
      if (s(PUBLICATION_HELD_BACK) === publishedAt) return undefined;
      return {
        description: `${s('PK')}: hold back its post.published for ${publishedAt}`,
        updateExpression: 'SET #held = :at',
        conditionExpression:
          'attribute_exists(PK) AND #status = :published AND publishedAt = :at AND (attribute_not_exists(#held) OR #held <> :at)',
        names: { '#held': PUBLICATION_HELD_BACK, '#status': 'status' },
        values: { ':at': { S: publishedAt }, ':published': { S: 'published' } },
      };
    }
    const target = s('target');
    if (s('entity') !== ENTITY.WebhookDelivery || s('state') !== 'pending' || !target) return undefined;
    if (await knownTarget(target, context)) return undefined;
    return {
      description: `${Keys.webhookTargets.PK}: add ${target} (a pending delivery's webhook)`,
      key: TARGETS_KEY,
      updateExpression: 'SET #entity = :entity ADD targets :target',
      conditionExpression: 'attribute_not_exists(targets) OR NOT contains(targets, :one)',
      names: { '#entity': 'entity' },
      values: { ':entity': { S: ENTITY.WebhookTargets }, ':target': { SS: [target] }, ':one': { S: target } },
    };
  },
} satisfies Migration;
