import { Keys, normalizeEmail, UserIndexKeys } from './keys.js';

describe('key builders', () => {
  it('puts the user and profile in one partition under a shared sort-key prefix', () => {
    expect(Keys.user('u1')).toEqual({ PK: 'USER#u1', SK: 'USER' });
    expect(Keys.profile('u1')).toEqual({ PK: 'USER#u1', SK: 'USER#PROFILE' });
    expect(Keys.user('u1').SK.startsWith(Keys.userAggregatePrefix)).toBe(true);
    expect(Keys.profile('u1').SK.startsWith(Keys.userAggregatePrefix)).toBe(true);
  });

  it('normalizes emails and usernames in uniqueness keys', () => {
    expect(normalizeEmail('  Ada@Example.COM ')).toBe('ada@example.com');
    expect(Keys.uniqueEmail(' Ada@Example.com')).toEqual(Keys.uniqueEmail('ada@example.com'));
    expect(Keys.uniqueEmail('ada@example.com')).toEqual({ PK: 'UNIQUE#EMAIL#ada@example.com', SK: 'UNIQUE' });
    expect(Keys.uniqueUsername('Ada_L')).toEqual({ PK: 'UNIQUE#USERNAME#ada_l', SK: 'UNIQUE' });
  });

  it('orders the user listing by creation time', () => {
    const older = UserIndexKeys.forUser({
      id: 'b',
      createdAt: '2026-01-01T00:00:00.000Z',
      role: 'user',
      status: 'active',
    });
    const newer = UserIndexKeys.forUser({
      id: 'a',
      createdAt: '2026-02-01T00:00:00.000Z',
      role: 'user',
      status: 'active',
    });
    expect(older.GSI1PK).toBe(newer.GSI1PK);
    expect(older.GSI1SK < newer.GSI1SK).toBe(true);
    expect(older.GSI4PK).toBe('USERS#ROLE#user#STATUS#active');
  });

  it('picks the index that serves each listing filter', () => {
    expect(UserIndexKeys.listing({})).toEqual({ index: 'GSI1', partition: 'USERS' });
    expect(UserIndexKeys.listing({ status: 'active' })).toEqual({ index: 'GSI2', partition: 'USERS#STATUS#active' });
    expect(UserIndexKeys.listing({ role: 'admin' })).toEqual({ index: 'GSI3', partition: 'USERS#ROLE#admin' });
    expect(UserIndexKeys.listing({ role: 'admin', status: 'active' })).toEqual({
      index: 'GSI4',
      partition: 'USERS#ROLE#admin#STATUS#active',
    });
  });
});
