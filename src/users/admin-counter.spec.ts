import { DomainError } from '../common/errors/domain-error.js';
import { USER_ROLES, USER_STATUSES } from './user.entity.js';
import { activeAdminDelta, adminCounterUpdate, isActiveAdmin, lastAdmin } from './admin-counter.js';

const every = USER_ROLES.flatMap((role) => USER_STATUSES.map((status) => ({ role, status })));
const activeAdmin = { role: 'admin' as const, status: 'active' as const };

describe('the admin counter', () => {
  it('counts exactly the active admins', () => {
    expect(every.filter(isActiveAdmin)).toEqual([activeAdmin]);
  });

  it('+1 when an active admin appears: created, promoted, reactivated', () => {
    expect(activeAdminDelta(undefined, activeAdmin)).toBe(1);
    expect(activeAdminDelta({ role: 'moderator', status: 'active' }, activeAdmin)).toBe(1);
    for (const status of ['pending', 'suspended', 'inactive'] as const)
      expect(activeAdminDelta({ role: 'admin', status }, activeAdmin)).toBe(1);
  });

  it('-1 when one goes: deleted, demoted, suspended, deactivated', () => {
    expect(activeAdminDelta(activeAdmin, undefined)).toBe(-1);
    for (const role of ['user', 'moderator'] as const)
      expect(activeAdminDelta(activeAdmin, { role, status: 'active' })).toBe(-1);
    for (const status of ['pending', 'suspended', 'inactive'] as const)
      expect(activeAdminDelta(activeAdmin, { role: 'admin', status })).toBe(-1);
  });

  it('0 for every other change, and for no change', () => {
    for (const before of every)
      for (const after of every) {
        const expected = isActiveAdmin(before) === isActiveAdmin(after) ? 0 : isActiveAdmin(after) ? 1 : -1;
        expect(activeAdminDelta(before, after)).toBe(expected);
      }
    expect(activeAdminDelta(undefined, { role: 'admin', status: 'suspended' })).toBe(0);
    expect(activeAdminDelta({ role: 'user', status: 'active' }, undefined)).toBe(0);
  });

  it('a removal is conditioned on another active admin remaining; an addition is not conditioned', () => {
    expect(adminCounterUpdate(-1)).toEqual({
      UpdateExpression: 'ADD activeAdmins :delta SET entity = :entity',
      ConditionExpression: 'activeAdmins > :one',
      ExpressionAttributeValues: { ':delta': -1, ':entity': 'Counter', ':one': 1 },
    });
    expect(adminCounterUpdate(1)).toEqual({
      UpdateExpression: 'ADD activeAdmins :delta SET entity = :entity',
      ExpressionAttributeValues: { ':delta': 1, ':entity': 'Counter' },
    });
  });

  it('the refusal is 409 last_admin', () => {
    const error = lastAdmin();
    expect(error).toBeInstanceOf(DomainError);
    expect([error.status, error.code]).toEqual([409, 'last_admin']);
  });
});
