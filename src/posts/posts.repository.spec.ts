import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { PostsRepository } from './posts.repository.js';

/** A transaction cancelled because its first item's condition failed, as the SDK reports it. */
const cancelled = () =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
  });

/** A document client that answers each command with the next scripted answer for its kind. */
function scriptedClient(script: { transactions: ('ok' | 'refused')[]; likeThere: boolean[] }) {
  const sent: string[] = [];
  const answer = (command: unknown) => {
    if (command instanceof TransactWriteCommand) {
      sent.push('transaction');
      if (script.transactions.shift() === 'refused') throw cancelled();
      return {};
    }
    if (command instanceof GetCommand) {
      sent.push('get');
      return script.likeThere.shift() ? { Item: { PK: 'x', SK: 'y' } } : {};
    }
    throw new Error(`unexpected ${String(command)}`);
  };
  const send = (command: unknown) => Promise.resolve().then(() => answer(command));
  return { client: { send } as never, sent };
}

const repository = (client: never) =>
  new PostsRepository(client, 'table', undefined as never, undefined as never, new SettableClock());

describe('PostsRepository.removeLike', () => {
  it('is one transaction for a counted like', async () => {
    const { client, sent } = scriptedClient({ transactions: ['ok'], likeThere: [] });
    await expect(repository(client).removeLike('p', 'u')).resolves.toBe(true);
    expect(sent).toEqual(['transaction']);
  });

  it('answers not liked when neither attempt finds a like and none is there', async () => {
    const { client, sent } = scriptedClient({ transactions: ['refused', 'refused'], likeThere: [false] });
    await expect(repository(client).removeLike('p', 'u')).resolves.toBe(false);
    expect(sent).toEqual(['transaction', 'transaction', 'get']);
  });

  it('goes round again when the sync moved the like between the two attempts (review 11, L2)', async () => {
    // Hidden when the counted attempt ran, shown again when the hidden attempt ran: both refused,
    // yet the like is there. The next round's counted attempt removes it.
    const { client, sent } = scriptedClient({ transactions: ['refused', 'refused', 'ok'], likeThere: [true] });
    await expect(repository(client).removeLike('p', 'u')).resolves.toBe(true);
    expect(sent).toEqual(['transaction', 'transaction', 'get', 'transaction']);
  });

  it('answers 503 rather than "not liked" while the like keeps moving', async () => {
    const { client } = scriptedClient({ transactions: Array(6).fill('refused'), likeThere: [true, true, true] });
    await expect(repository(client).removeLike('p', 'u')).rejects.toMatchObject({
      status: 503,
      code: 'transaction_conflict',
    });
  });
});
