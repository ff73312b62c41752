import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { KNOWN_ENTITIES, layoutProblem } from './item-schema.js';
import { ENTITY, Keys } from './keys.js';

/** The DynamoDB JSON of an item whose attributes are all strings, as an export line holds it. */
const marshall = (item: Record<string, string>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }]));

describe('declared item layout', () => {
  it('declares every entity the repositories write', () => {
    // An entity missing here makes `db:import` refuse a real export that contains it.
    const undeclared = Object.values(ENTITY).filter((entity) => !KNOWN_ENTITIES.has(entity));
    expect(undeclared).toEqual([]);
  });

  it('accepts the items the key builders make, with their entity', () => {
    const items = [
      { ...Keys.user('u1'), entity: ENTITY.User },
      { ...Keys.session('u1', 's1'), entity: ENTITY.Session },
      { ...Keys.like('p1', 'u1'), entity: ENTITY.Like },
      { ...Keys.postCounts('p1'), entity: ENTITY.PostCounts },
      { ...Keys.userLogin('u1'), entity: ENTITY.UserLogin },
      { ...Keys.view('p1', 'u:u1'), entity: ENTITY.View },
      { ...Keys.view('p1', 'a:9f86d081884c7d65'), entity: ENTITY.View },
      { ...Keys.rateLimit('login#ip#127.0.0.1', 123), entity: ENTITY.RateLimit },
      { ...Keys.webhookTargets, entity: ENTITY.WebhookTargets },
      { ...Keys.streamCheckpoint('shardId-00000001764123456789-0a1b2c3d'), entity: ENTITY.StreamCheckpoint },
      {
        ...Keys.streamDeadLetter('shardId-00000001764123456789-0a1b2c3d', '0'.repeat(40)),
        entity: ENTITY.StreamDeadLetter,
      },
    ];
    expect(items.map((item) => layoutProblem(marshall(item)))).toEqual(items.map(() => undefined));
  });

  it('refuses a key given the wrong entity, and a key that fits none', () => {
    expect(layoutProblem(marshall({ ...Keys.view('p1', 'u1'), entity: ENTITY.Like }))).toMatch(/not the key of a Like/);
    expect(layoutProblem(marshall({ PK: 'NOPE#1', SK: 'X' }))).toMatch(/fits no entity/);
    expect(layoutProblem(marshall({ ...Keys.post('p1'), entity: 'Nope' }))).toMatch(/unknown entity/);
  });
});
