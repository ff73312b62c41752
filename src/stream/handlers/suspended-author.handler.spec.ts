import { describe, expect, it, jest } from '@jest/globals';
import type { ItemChange } from '../../dynamo/stream-record.js';
import type { PostsService } from '../../posts/posts.service.js';
import { SuspendedAuthorHandler } from './suspended-author.handler.js';

const AT = '2026-05-15T12:00:00.000Z';

function setUp() {
  const withdrawScheduled = jest.fn((_userId: string, _since: string) => Promise.resolve(2));
  const handler = new SuspendedAuthorHandler({ withdrawScheduled } as unknown as PostsService);
  return { handler, withdrawScheduled };
}

const change = (event: ItemChange['event'], newImage?: ItemChange['newImage'], oldImage?: ItemChange['oldImage']) =>
  ({
    event,
    newImage,
    oldImage,
    key: { PK: 'USER#u1', SK: 'USER' },
    sequenceNumber: '1',
    at: new Date(AT),
  }) as ItemChange;

describe('SuspendedAuthorHandler (review 21a M3)', () => {
  it.each(['suspended', 'inactive'])(
    'a move to %s withdraws what was scheduled at the change’s time (the user item’s updatedAt)',
    async (status) => {
      const { handler, withdrawScheduled } = setUp();
      const updatedAt = '2026-05-15T11:59:58.000Z';
      await handler.handle(change('MODIFY', { status, updatedAt }, { status: 'active', updatedAt: AT }), 'u1');
      expect(withdrawScheduled.mock.calls).toEqual([['u1', updatedAt]]);
    },
  );

  it('a user item without updatedAt: the record’s time', async () => {
    const { handler, withdrawScheduled } = setUp();
    await handler.handle(change('MODIFY', { status: 'suspended' }, { status: 'active' }), 'u1');
    expect(withdrawScheduled.mock.calls).toEqual([['u1', AT]]);
  });

  it('a move between the two statuses withdraws again (what an admin scheduled meanwhile)', async () => {
    const { handler, withdrawScheduled } = setUp();
    await handler.handle(change('MODIFY', { status: 'inactive', updatedAt: AT }, { status: 'suspended' }), 'u1');
    expect(withdrawScheduled).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a reactivation', change('MODIFY', { status: 'active', updatedAt: AT }, { status: 'suspended' })],
    [
      'another change of a suspended account',
      change('MODIFY', { status: 'suspended', role: 'moderator' }, { status: 'suspended' }),
    ],
    ['a registration', change('INSERT', { status: 'suspended', updatedAt: AT })],
    ['an erasure', change('REMOVE', undefined, { status: 'suspended' })],
    ['a pending account confirmed', change('MODIFY', { status: 'active' }, { status: 'pending' })],
  ])('does nothing on %s', async (_case, record) => {
    const { handler, withdrawScheduled } = setUp();
    await handler.handle(record, 'u1');
    expect(withdrawScheduled).not.toHaveBeenCalled();
  });
});
