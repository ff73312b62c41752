import { ENTITY, EventIndexKeys } from '../dynamo/keys.js';
import type { Item, ItemSkipped, ItemUpdate, Migration } from './migration.js';

/** The one due partition of every webhook before this migration (spelled here: it is that layout's). */
const OLD_DUE = 'WEBHOOKS#DUE';

/**
 * Session 20's note ("Webhooks": one due partition per webhook): every pending delivery of every
 * webhook was in the one GSI1 partition `WEBHOOKS#DUE` (a hot key: each delivery's creation, claim
 * and outcome wrote it), and while one webhook was full each look read up to 1,000 of them past its
 * backlog. The code of this version keys a pending delivery `WEBHOOKS#DUE#<target>` (its webhook's
 * 16-hex id) and reads only the partitions of the webhooks with room; this moves the pending
 * deliveries written before to their webhook's partition (GSI1PK only: the sort key,
 * `<dueAt>#<eventId>#<target>`, is unchanged).
 *
 * Each update is conditioned on the delivery still holding the old partition, so one claimed,
 * delivered or dead-lettered meanwhile (its GSI1 keys rewritten or removed) is left, and a second
 * run changes nothing. Online: until it is applied the dispatcher of this version also reads the old
 * partition (and its claims move what it takes there to the new one), so nothing written by the
 * version before, during a rolling deploy, waits; run it once the last instance of that version
 * has stopped.
 */
export const webhookDuePartitions = {
  version: 13,
  name: 'webhook-due-partitions',
  description:
    'pending webhook deliveries moved from WEBHOOKS#DUE to the partition of their webhook (WEBHOOKS#DUE#<target>)',
  online: true,
  filter: {
    expression: '#entity = :delivery AND GSI1PK = :old',
    names: { '#entity': 'entity' },
    values: { ':delivery': { S: ENTITY.WebhookDelivery }, ':old': { S: OLD_DUE } },
  },
  migrate(item: Item): ItemUpdate | ItemSkipped | undefined {
    const s = (name: string) => item[name]?.S;
    if (s('entity') !== ENTITY.WebhookDelivery || s('GSI1PK') !== OLD_DUE) return undefined;
    const target = s('target');
    if (!target || !/^[0-9a-f]{16}$/.test(target)) return { skipped: 'a pending delivery without a 16-hex target' };
    const GSI1PK = EventIndexKeys.duePartition(target);
    return {
      description: `${s('PK')} ${s('SK')}: GSI1PK=${GSI1PK}`,
      updateExpression: 'SET GSI1PK = :n',
      conditionExpression: 'attribute_exists(PK) AND GSI1PK = :o',
      values: { ':n': { S: GSI1PK }, ':o': { S: OLD_DUE } },
    };
  },
} satisfies Migration;
