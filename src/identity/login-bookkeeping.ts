import { ENTITY, Keys } from '../dynamo/keys.js';
import type { TransactItem } from '../dynamo/transactions.js';

type Item = Record<string, unknown>;

/**
 * Sign-in bookkeeping (`lastLoginAt`, `loginCount`) lives on a small item of its own,
 * `PK=USER#<id>`, `SK=USER#LOGIN`, that no index copies: a sign-in writes 1 KB there instead of
 * the user item and its four admin-listing index entries (projection ALL), and it never writes
 * the `USERS` index partitions that every user shares. The `USER` sort-key prefix puts it in the
 * user aggregate's Query, so `GET /users/me` reads it at no extra call.
 *
 * The user item keeps the two attributes as a base that no longer changes (what registration
 * set, or what an older layout had reached), so a table of the old layout needs no migration.
 */
export function recordLogin(tableName: string, userId: string, at: string): TransactItem {
  return {
    Update: {
      TableName: tableName,
      Key: Keys.userLogin(userId),
      UpdateExpression: 'SET lastLoginAt = :at, entity = :entity ADD loginCount :one',
      ExpressionAttributeValues: { ':at': at, ':one': 1, ':entity': ENTITY.UserLogin },
    },
  };
}

/** The user with its sign-in bookkeeping: the latest time, and the base count plus the item's. */
export function withLogin<T extends { lastLoginAt?: string; loginCount: number }>(user: T, login: Item | undefined): T {
  if (!login) return user;
  const at = typeof login.lastLoginAt === 'string' ? login.lastLoginAt : undefined;
  const count = typeof login.loginCount === 'number' ? login.loginCount : 0;
  return {
    ...user,
    lastLoginAt: at && (!user.lastLoginAt || at > user.lastLoginAt) ? at : user.lastLoginAt,
    loginCount: (user.loginCount ?? 0) + count,
  };
}
