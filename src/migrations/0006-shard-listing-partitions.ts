import { ENTITY, EventIndexKeys, UserIndexKeys } from '../dynamo/keys.js';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Item, ItemSkipped, ItemUpdate, Migration } from './migration.js';

/** The unsharded partitions of the layout before this migration (spelled here: they are that layout's). */
const OLD_USERS = 'USERS';
const OLD_EVENTS = 'EVENTS';
const USER_INDEX_PKS = ['GSI1PK', 'GSI2PK', 'GSI3PK', 'GSI4PK'] as const;

/**
 * Issue 15 ("no hot key"): every registration wrote the same four user listing partitions
 * (`USERS`, `USERS#STATUS#<status>`, `USERS#ROLE#<role>`, `USERS#ROLE#<role>#STATUS#<status>`) and
 * every outbound event `EVENTS`, 500 registrations/s at most. The code of this version writes them
 * as `<partition>#<n>`, n from the item's id (src/dynamo/sharding.ts), and the listings merge the
 * shards; this moves the user items and outbound events written before to their shard.
 *
 * Each update is conditioned on the item still holding the partition keys it was read with, so one
 * the app rewrote meanwhile (a role change writes the sharded keys) is left, and a second run
 * changes nothing (a moved item no longer matches the filter). Offline: the listings of this
 * version read only the shards, so until it is done they miss the users and events not yet moved;
 * the app refuses to start while it is pending.
 */
export const shardListingPartitions = {
  version: 6,
  name: 'shard-listing-partitions',
  description: 'user listing keys USERS... and event keys EVENTS moved to their shard (<partition>#<n>)',
  online: false,
  filter: {
    // Old items hold exactly the unsharded all-users or events partition on GSI1.
    expression: '(#entity = :user AND GSI1PK = :users) OR (#entity = :event AND GSI1PK = :events)',
    names: { '#entity': 'entity' },
    values: {
      ':user': { S: ENTITY.User },
      ':users': { S: OLD_USERS },
      ':event': { S: ENTITY.OutboundEvent },
      ':events': { S: OLD_EVENTS },
    },
  },
  migrate(item: Item): ItemUpdate | ItemSkipped | undefined {
    const s = (name: string) => item[name]?.S;
    if (s('entity') === ENTITY.User && s('GSI1PK') === OLD_USERS) {
      const [id, createdAt, role, status] = [s('id'), s('createdAt'), s('role'), s('status')];
      if (!id || !createdAt || !role || !status)
        return { skipped: 'a user item without id, createdAt, role or status' };
      const keys = UserIndexKeys.forUser({ id, createdAt, role, status });
      const read = USER_INDEX_PKS.map((name) => item[name]);
      return {
        description: `${s('PK')}: ${USER_INDEX_PKS.map((name) => `${name}=${keys[name]}`).join(', ')}`,
        updateExpression: `SET ${USER_INDEX_PKS.map((name, i) => `${name} = :n${i}`).join(', ')}`,
        conditionExpression: [
          'attribute_exists(PK)',
          ...read.map((value, i) =>
            value ? `${USER_INDEX_PKS[i]} = :o${i}` : `attribute_not_exists(${USER_INDEX_PKS[i]})`,
          ),
        ].join(' AND '),
        values: {
          ...Object.fromEntries(USER_INDEX_PKS.map((name, i) => [`:n${i}`, { S: keys[name] }])),
          ...Object.fromEntries(
            read.flatMap((value, i): [string, AttributeValue][] => (value ? [[`:o${i}`, value]] : [])),
          ),
        },
      };
    }
    if (s('entity') === ENTITY.OutboundEvent && s('GSI1PK') === OLD_EVENTS) {
      const [id, occurredAt] = [s('id'), s('occurredAt')];
      if (!id || !occurredAt) return { skipped: 'an outbound event without id or occurredAt' };
      const { GSI1PK } = EventIndexKeys.event(occurredAt, id);
      return {
        description: `${s('PK')}: GSI1PK=${GSI1PK}`,
        updateExpression: 'SET GSI1PK = :n',
        conditionExpression: 'attribute_exists(PK) AND GSI1PK = :o',
        values: { ':n': { S: GSI1PK }, ':o': { S: OLD_EVENTS } },
      };
    }
    return undefined;
  },
} satisfies Migration;
