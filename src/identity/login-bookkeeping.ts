import { ENTITY, Keys } from '../dynamo/keys.js';
import type { TransactItem } from '../dynamo/transactions.js';

type Item = Record<string, unknown>;

/**
 * What a sign-in knows of its user's sessions before it writes, from the items it reads anyway
 * (the user item and the sign-in item): no read of the sessions themselves.
 */
export interface SessionTally {
  /**
   * At least the number of the user's live sessions (revoked and expired ones are not
   * subtracted: it can only over-state), or undefined when unknown and the sessions must be counted.
   */
  bound?: number;
  /** The sign-in item's own `loginCount` (undefined: no item yet): a recount is conditioned on it. */
  logins?: number;
  /** The user item's `sessionsCounted`: with no sign-in item, the registration's one session. */
  sessionsCounted: boolean;
}

/**
 * How the sign-in item's `sessionCount` changes with a new session:
 * - `add`: one more, on condition that the count (still valid) is under `max` (concurrent
 *   sign-ins each check the count they raise, so they cannot pass the cap together);
 * - `set`: a count the caller just established, on condition that no sign-in happened since it
 *   read the item (`loginCount` unchanged, or still no item);
 * - `uncounted`: no count: the next sign-in counts the sessions.
 */
export type SessionCountChange =
  { kind: 'add'; max: number } | { kind: 'set'; count: number; logins: number | undefined } | { kind: 'uncounted' };

/**
 * The tally of a sign-in item (and of the user item's `sessionsCounted`). `sessionCount` is valid
 * while `sessionCountLogins` equals the item's `loginCount`: every counted sign-in raises both,
 * and a sign-in that does not count (an older version of the app during a deployment, or the
 * contention fallback) raises `loginCount` alone, so its session cannot go uncounted.
 */
export function sessionTallyOf(sessionsCounted: boolean, login: Item | undefined): SessionTally {
  if (!login) return { bound: sessionsCounted ? 1 : undefined, sessionsCounted };
  const logins = typeof login.loginCount === 'number' ? login.loginCount : undefined;
  const valid = typeof login.sessionCount === 'number' && logins !== undefined && login.sessionCountLogins === logins;
  return { bound: valid ? (login.sessionCount as number) : undefined, logins, sessionsCounted };
}

/**
 * Sign-in bookkeeping (`lastLoginAt`, `loginCount`) lives on a small item of its own,
 * `PK=USER#<id>`, `SK=USER#LOGIN`, that no index copies: a sign-in writes 1 KB there instead of
 * the user item and its four admin-listing index entries (projection ALL), and it never writes
 * the `USERS` index partitions that every user shares. The `USER` sort-key prefix puts it in the
 * user aggregate's Query, so `GET /users/me` reads it at no extra call. It also keeps the bound
 * on the user's sessions (`sessionCount`, see `SessionTally`) that spares most sign-ins the
 * `Query` of their sessions for `MAX_SESSIONS_PER_USER`.
 *
 * The user item keeps the two attributes as a base that no longer changes (what registration
 * set, or what an older layout had reached), so a table of the old layout needs no migration.
 */
export function recordLogin(
  tableName: string,
  userId: string,
  at: string,
  change: SessionCountChange = { kind: 'uncounted' },
): TransactItem {
  const base = { TableName: tableName, Key: Keys.userLogin(userId) };
  const values = { ':at': at, ':entity': ENTITY.UserLogin };
  switch (change.kind) {
    case 'add':
      return {
        Update: {
          ...base,
          UpdateExpression:
            'SET lastLoginAt = :at, entity = :entity ADD loginCount :one, sessionCount :one, sessionCountLogins :one',
          ConditionExpression: 'sessionCount < :max AND sessionCountLogins = loginCount',
          ExpressionAttributeValues: { ...values, ':one': 1, ':max': change.max },
        },
      };
    case 'set': {
      const next = (change.logins ?? 0) + 1;
      return {
        Update: {
          ...base,
          UpdateExpression:
            'SET lastLoginAt = :at, entity = :entity, sessionCount = :count, loginCount = :next, sessionCountLogins = :next',
          ConditionExpression:
            change.logins === undefined ? 'attribute_not_exists(loginCount)' : 'loginCount = :logins',
          ExpressionAttributeValues: {
            ...values,
            ':count': change.count,
            ':next': next,
            ...(change.logins === undefined ? {} : { ':logins': change.logins }),
          },
        },
      };
    }
    case 'uncounted':
      return {
        Update: {
          ...base,
          UpdateExpression: 'SET lastLoginAt = :at, entity = :entity ADD loginCount :one',
          ExpressionAttributeValues: { ...values, ':one': 1 },
        },
      };
  }
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
