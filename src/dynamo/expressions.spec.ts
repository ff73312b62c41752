import { buildStateUpdate, buildUpdate, buildVersionedUpdate, epochSeconds, isExpired } from './expressions.js';

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

describe('buildUpdate with several attributes per clause', () => {
  it('separates ADD and REMOVE entries with commas, and sends no values for a remove-only update', () => {
    const update = buildUpdate({ add: { likeCount: 1, viewCount: -2 }, remove: ['deletedAt', 'editedAt'] });
    expect(update).toEqual({
      UpdateExpression: 'ADD #u0 :u0, #u1 :u1 REMOVE #u2, #u3',
      ExpressionAttributeNames: { '#u0': 'likeCount', '#u1': 'viewCount', '#u2': 'deletedAt', '#u3': 'editedAt' },
      ExpressionAttributeValues: { ':u0': 1, ':u1': -2 },
    });
    expect(buildUpdate({ remove: ['deletedAt', 'editedAt'] })).toEqual({
      UpdateExpression: 'REMOVE #u0, #u1',
      ExpressionAttributeNames: { '#u0': 'deletedAt', '#u1': 'editedAt' },
    });
  });

  it('refuses the sort key and every index key, and writes index keys only when allowed', () => {
    expect(() => buildUpdate({ set: { SK: 'x' }, allowIndexAttributes: true })).toThrow(/primary key attribute SK/);
    expect(() => buildUpdate({ remove: ['PK'], allowIndexAttributes: true })).toThrow(/primary key attribute PK/);
    expect(() => buildUpdate({ remove: ['GSI1PK'] })).toThrow(/GSI1PK may only be written/);
    expect(() => buildUpdate({ add: { GSI5SK: 1 } })).toThrow(/GSI5SK may only be written/);
    expect(buildUpdate({ remove: ['GSI1PK'], allowIndexAttributes: true }).UpdateExpression).toBe('REMOVE #u0');
  });
});

describe('buildVersionedUpdate', () => {
  it('adds 1 to the version on condition that the item exists at the expected version', () => {
    expect(buildVersionedUpdate({ set: { title: 'New' } }, 3)).toEqual({
      UpdateExpression: 'SET #u0 = :u0 ADD #u1 :u1',
      ConditionExpression: 'attribute_exists(PK) AND version = :expected',
      ExpressionAttributeNames: { '#u0': 'title', '#u1': 'version' },
      ExpressionAttributeValues: { ':u0': 'New', ':u1': 1, ':expected': 3 },
    });
  });

  it('keeps other additions and joins an extra condition with AND', () => {
    const update = buildVersionedUpdate({ add: { replyCount: -1 } }, 7, {
      expression: '#status <> :deleted',
      names: { '#status': 'status' },
      values: { ':deleted': 'deleted' },
    });
    expect(update).toEqual({
      UpdateExpression: 'ADD #u0 :u0, #u1 :u1',
      ConditionExpression: 'attribute_exists(PK) AND version = :expected AND #status <> :deleted',
      ExpressionAttributeNames: { '#u0': 'replyCount', '#u1': 'version', '#status': 'status' },
      ExpressionAttributeValues: { ':u0': -1, ':u1': 1, ':expected': 7, ':deleted': 'deleted' },
    });
  });
});

describe('buildStateUpdate', () => {
  const options = {
    keep: ['id', 'likeCount'],
    indexKeys: { GSI1PK: 'AUTHOR#u1', GSI1SK: '2026-05-01' },
    indexAttributes: ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'],
  };

  it('sets what the new state has, removes what it lost, and never writes kept fields or the version', () => {
    const before = { id: 'p1', title: 'Old', excerpt: 'An excerpt', likeCount: 3, version: 2 };
    const after = { id: 'p1', title: 'New', subtitle: undefined, likeCount: 9, version: 2, tagIds: ['t1'] };
    const update = buildStateUpdate(before, after, options, 2);

    const names = update.ExpressionAttributeNames;
    const values = update.ExpressionAttributeValues!;
    const [setClause, rest] = update.UpdateExpression.split(' ADD ');
    const [addClause, removeClause] = rest.split(' REMOVE ');
    const attributes = (clause: string) => (clause.match(/#u\d+/g) ?? []).map((placeholder) => names[placeholder]);

    expect(attributes(setClause)).toEqual(['GSI1PK', 'GSI1SK', 'title', 'tagIds']);
    expect(attributes(addClause)).toEqual(['version']);
    expect(attributes(removeClause).sort()).toEqual(['GSI2PK', 'GSI2SK', 'excerpt', 'subtitle']);
    expect(Object.values(values)).toEqual(['AUTHOR#u1', '2026-05-01', 'New', ['t1'], 1, 2]);
    expect(update.ConditionExpression).toBe('attribute_exists(PK) AND version = :expected');
    expect(values[':expected']).toBe(2);
  });

  it('never removes a kept field the new state lacks, nor an index key it writes', () => {
    const before = { id: 'p1', likeCount: 4, GSI1PK: 'AUTHOR#old', title: 'Same' };
    const after = { title: 'Same' };
    const update = buildStateUpdate(before, after, options, 5);
    const removed = (update.UpdateExpression.split(' REMOVE ')[1] ?? '')
      .split(', ')
      .map((placeholder) => update.ExpressionAttributeNames[placeholder]);
    expect(removed.sort()).toEqual(['GSI2PK', 'GSI2SK']);
    expect(update.ExpressionAttributeValues).toMatchObject({ ':u0': 'AUTHOR#u1' });
  });

  it('removes nothing when the new state keeps every field and index', () => {
    const state = { id: 'p1', title: 'Same', GSI2PK: 'x' };
    const update = buildStateUpdate(state, state, { ...options, indexAttributes: ['GSI1PK', 'GSI1SK'] }, 1);
    expect(update.UpdateExpression).not.toContain('REMOVE');
  });
});

describe('epochSeconds and isExpired at the boundary', () => {
  const now = new Date('2026-01-01T00:00:00.999Z');
  const second = Date.UTC(2026, 0, 1) / 1000;

  it('counts whole seconds, rounding down', () => {
    expect(epochSeconds(now)).toBe(second);
    expect(epochSeconds(new Date(1999))).toBe(1);
  });

  it('treats an item as expired from its ttl second on', () => {
    expect(isExpired({ ttl: second }, now)).toBe(true);
    expect(isExpired({ ttl: second + 1 }, now)).toBe(false);
  });

  it('ignores a ttl that is not a number (never expires the item)', () => {
    for (const ttl of [String(second - 60), null, '0', true]) expect(isExpired({ ttl }, now)).toBe(false);
  });

  it("judges by the machine's time when no time is given", () => {
    expect(isExpired({ ttl: epochSeconds(new Date()) - 60 })).toBe(true);
    expect(isExpired({ ttl: epochSeconds(new Date()) + 3600 })).toBe(false);
  });
});
