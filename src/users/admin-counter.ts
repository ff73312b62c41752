import { conflict } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ENTITY } from '../dynamo/keys.js';
import type { User } from './user.entity.js';

/**
 * The last-admin rule. One counter item holds the number of active admins; every write that
 * makes or unmakes an active admin changes it in the same transaction, and a change that takes
 * one away is conditioned on another remaining. So the last active admin cannot be demoted,
 * suspended, deactivated or deleted, even by concurrent requests (409 `last_admin`).
 */

type RoleAndStatus = Pick<User, 'role' | 'status'>;

/** Counted: an admin whose account is active. */
export const isActiveAdmin = (user: RoleAndStatus): boolean => user.role === 'admin' && user.status === 'active';

/** How a user's change moves the counter (`undefined`: the user does not exist before, or after). */
export function activeAdminDelta(before: RoleAndStatus | undefined, after: RoleAndStatus | undefined): -1 | 0 | 1 {
  const was = before !== undefined && isActiveAdmin(before);
  const is = after !== undefined && isActiveAdmin(after);
  return was === is ? 0 : is ? 1 : -1;
}

/** The counter update for a change: a removal requires that the count stays above zero. */
export function adminCounterUpdate(delta: 1 | -1): {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeValues: Record<string, string | number>;
} {
  return {
    UpdateExpression: 'ADD activeAdmins :delta SET entity = :entity',
    ...(delta < 0 ? { ConditionExpression: 'activeAdmins > :one' } : {}),
    ExpressionAttributeValues: { ':delta': delta, ':entity': ENTITY.Counter, ...(delta < 0 ? { ':one': 1 } : {}) },
  };
}

export const lastAdmin = () =>
  conflict(ErrorCode.LastAdmin, 'This is the last active admin; promote another admin first.');
