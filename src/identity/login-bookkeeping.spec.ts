import { recordLogin, sessionTallyOf } from './login-bookkeeping.js';

describe('sessionTallyOf', () => {
  it('with no sign-in item: the registration session of a counted account, unknown for an older one', () => {
    expect(sessionTallyOf(true, undefined)).toEqual({ bound: 1, sessionsCounted: true });
    expect(sessionTallyOf(false, undefined)).toEqual({ bound: undefined, sessionsCounted: false });
  });

  it('trusts the count only while every sign-in since it was set counted (sessionCountLogins = loginCount)', () => {
    expect(sessionTallyOf(true, { loginCount: 4, sessionCount: 2, sessionCountLogins: 4 })).toEqual({
      bound: 2,
      logins: 4,
      sessionsCounted: true,
    });
    // A sign-in that raised loginCount alone (an older app, the contention fallback): unknown.
    expect(sessionTallyOf(true, { loginCount: 5, sessionCount: 2, sessionCountLogins: 4 }).bound).toBeUndefined();
    // A sign-in item of the layout before the count.
    expect(sessionTallyOf(true, { loginCount: 7 })).toEqual({ bound: undefined, logins: 7, sessionsCounted: true });
  });
});

describe('recordLogin', () => {
  const update = (change: Parameters<typeof recordLogin>[3]) => recordLogin('t', 'u1', 'now', change).Update!;

  it('adds to a valid count only while it is under the cap', () => {
    const add = update({ kind: 'add', max: 20 });
    expect(add.UpdateExpression).toContain('ADD loginCount :one, sessionCount :one, sessionCountLogins :one');
    expect(add.ConditionExpression).toBe('sessionCount < :max AND sessionCountLogins = loginCount');
    expect(add.ExpressionAttributeValues).toMatchObject({ ':max': 20, ':one': 1 });
  });

  it('sets a recounted count on condition that no sign-in happened since the read', () => {
    const first = update({ kind: 'set', count: 2, logins: undefined });
    expect(first.ConditionExpression).toBe('attribute_not_exists(loginCount)');
    expect(first.ExpressionAttributeValues).toMatchObject({ ':count': 2, ':next': 1 });
    const later = update({ kind: 'set', count: 3, logins: 9 });
    expect(later.ConditionExpression).toBe('loginCount = :logins');
    expect(later.ExpressionAttributeValues).toMatchObject({ ':count': 3, ':next': 10, ':logins': 9 });
  });

  it('uncounted: the bookkeeping alone, which leaves the count unknown', () => {
    const plain = update({ kind: 'uncounted' });
    expect(plain.UpdateExpression).toBe('SET lastLoginAt = :at, entity = :entity ADD loginCount :one');
    expect(plain.ConditionExpression).toBeUndefined();
  });
});
