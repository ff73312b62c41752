import { EventIndexKeys, Keys, normalizeEmail, UserIndexKeys } from './keys.js';
import { shardOf } from './sharding.js';

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

  it('orders the user listing by creation time, within the shard of each user', () => {
    const user = (id: string, createdAt: string) =>
      UserIndexKeys.forUser({ id, createdAt, role: 'user', status: 'active' });
    const older = user('b', '2026-01-01T00:00:00.000Z');
    const newer = user('a', '2026-02-01T00:00:00.000Z');
    expect(older.GSI1SK < newer.GSI1SK).toBe(true);
    expect(older.GSI1PK).toBe(`USERS#${shardOf('b')}`);
    expect(newer.GSI1PK).toBe(`USERS#${shardOf('a')}`);
    expect(older.GSI2PK).toBe(`USERS#STATUS#active#${shardOf('b')}`);
    expect(older.GSI3PK).toBe(`USERS#ROLE#user#${shardOf('b')}`);
    expect(older.GSI4PK).toBe(`USERS#ROLE#user#STATUS#active#${shardOf('b')}`);
  });

  it('keeps a user in one shard number when the role or status changes', () => {
    const id = 'V1StGXR8_Z5jdHi6B-myT';
    const before = UserIndexKeys.forUser({
      id,
      createdAt: '2026-01-01T00:00:00.000Z',
      role: 'user',
      status: 'pending',
    });
    const after = UserIndexKeys.forUser({ id, createdAt: '2026-01-01T00:00:00.000Z', role: 'admin', status: 'active' });
    const shard = `#${shardOf(id)}`;
    for (const keys of [before, after])
      for (const pk of [keys.GSI1PK, keys.GSI2PK, keys.GSI3PK, keys.GSI4PK]) expect(pk.endsWith(shard)).toBe(true);
    expect(after.GSI4PK).toBe(`USERS#ROLE#admin#STATUS#active${shard}`);
  });

  it('picks the index that serves each listing filter, and the partition its shards share', () => {
    expect(UserIndexKeys.listing({})).toEqual({ index: 'GSI1', base: 'USERS' });
    expect(UserIndexKeys.listing({ status: 'active' })).toEqual({ index: 'GSI2', base: 'USERS#STATUS#active' });
    expect(UserIndexKeys.listing({ role: 'admin' })).toEqual({ index: 'GSI3', base: 'USERS#ROLE#admin' });
    expect(UserIndexKeys.listing({ role: 'admin', status: 'active' })).toEqual({
      index: 'GSI4',
      base: 'USERS#ROLE#admin#STATUS#active',
    });
  });

  it('shards outbound events by their id', () => {
    expect(EventIndexKeys.event('2026-01-01T00:00:00.000Z', 'e1')).toEqual({
      GSI1PK: `EVENTS#${shardOf('e1')}`,
      GSI1SK: '2026-01-01T00:00:00.000Z#e1',
    });
  });
});
