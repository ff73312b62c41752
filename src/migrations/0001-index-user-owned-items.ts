import { ENTITY, OwnedIndexKeys } from '../dynamo/keys.js';
import type { Item, Migration } from './migration.js';

/**
 * Reset and verification tokens and idempotency records hold a user's id outside the user's
 * partition. They get GSI3 keys (`GSI3PK=OWNED#<userId>`) so that the personal-data export and
 * self-erasure find them with one Query; the code of this version writes them on creation.
 *
 * Online: no read depends on the new keys. While it runs, an erasure can miss an old token or
 * record, which expires by TTL within a day anyway.
 */
export const indexUserOwnedItems = {
  version: 1,
  name: 'index-user-owned-items',
  description: 'GSI3 keys OWNED#<userId> on action tokens and idempotency records',
  online: true,
  filter: {
    expression: '#entity IN (:token, :idempotency) AND attribute_not_exists(GSI3PK)',
    names: { '#entity': 'entity' },
    values: { ':token': { S: ENTITY.ActionToken }, ':idempotency': { S: ENTITY.Idempotency } },
  },
  migrate(item: Item) {
    if (item.GSI3PK) return undefined;
    let keys: { GSI3PK: string; GSI3SK: string };
    if (item.entity?.S === ENTITY.ActionToken && item.userId?.S && item.createdAt?.S) {
      keys = OwnedIndexKeys.actionToken(item.userId.S, item.createdAt.S);
    } else if (item.entity?.S === ENTITY.Idempotency && item.PK?.S) {
      const pk = item.PK.S;
      const owner = OwnedIndexKeys.idempotencyOwner(pk);
      keys = OwnedIndexKeys.idempotency(owner, pk.slice(`IDEMPOTENCY#${owner}#`.length));
    } else {
      return undefined;
    }
    return {
      description: `${item.PK.S}: GSI3PK=${keys.GSI3PK}`,
      updateExpression: 'SET GSI3PK = :pk, GSI3SK = :sk',
      conditionExpression: 'attribute_exists(PK) AND attribute_not_exists(GSI3PK)',
      values: { ':pk': { S: keys.GSI3PK }, ':sk': { S: keys.GSI3SK } },
    };
  },
} satisfies Migration;
