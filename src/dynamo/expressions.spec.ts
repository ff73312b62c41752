import { buildUpdate, isExpired } from './expressions.js';

describe('buildUpdate', () => {
  it('uses placeholders for every name and value and skips undefined values', () => {
    const update = buildUpdate({
      set: { name: 'x', status: 'active', bio: undefined },
      add: { loginCount: 1 },
      remove: ['deletedAt'],
    });
    expect(update.UpdateExpression).toBe('SET #u0 = :u0, #u1 = :u1 ADD #u2 :u2 REMOVE #u3');
    expect(update.ExpressionAttributeNames).toEqual({
      '#u0': 'name',
      '#u1': 'status',
      '#u2': 'loginCount',
      '#u3': 'deletedAt',
    });
    expect(update.ExpressionAttributeValues).toEqual({ ':u0': 'x', ':u1': 'active', ':u2': 1 });
  });

  it('refuses to write the primary key, and index keys unless allowed', () => {
    expect(() => buildUpdate({ set: { PK: 'x' } })).toThrow(/primary key/);
    expect(() => buildUpdate({ set: { GSI1SK: 'x' } })).toThrow(/allowIndexAttributes/);
    expect(buildUpdate({ set: { GSI1SK: 'x' }, allowIndexAttributes: true }).UpdateExpression).toBe('SET #u0 = :u0');
  });

  it('refuses an empty update', () => {
    expect(() => buildUpdate({ set: { a: undefined } })).toThrow(/at least one/);
  });
});

describe('isExpired', () => {
  it('compares the ttl attribute with now', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(isExpired({ ttl: now.getTime() / 1000 - 1 }, now)).toBe(true);
    expect(isExpired({ ttl: now.getTime() / 1000 + 60 }, now)).toBe(false);
    expect(isExpired({}, now)).toBe(false);
  });
});

describe('buildUpdate with a condition', () => {
  it('merges the condition placeholders', () => {
    const update = buildUpdate({
      set: { status: 'active' },
      condition: {
        expression: '#status = :pending',
        names: { '#status': 'status' },
        values: { ':pending': 'pending' },
      },
    });
    expect(update.ConditionExpression).toBe('#status = :pending');
    expect(update.ExpressionAttributeNames).toEqual({ '#u0': 'status', '#status': 'status' });
    expect(update.ExpressionAttributeValues).toEqual({ ':u0': 'active', ':pending': 'pending' });
  });
});
