import { jest } from '@jest/globals';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import { CategoriesRepository } from './categories.repository.js';
import { categoryFixture } from './taxonomy.testing.js';

const NOW = '2026-05-15T12:00:00.000Z';
const TREE = { PK: 'CATEGORIES', SK: 'TREE' };
const category = categoryFixture;

interface Sent {
  command: string;
  input: Record<string, unknown>;
}
type TransactItems = { Update?: Record<string, unknown>; Delete?: unknown; Put?: unknown }[];

/** The repository over a document client faked at its token: each command recorded, `answer` decides. */
function setUp(answer: (sent: Sent) => unknown = () => ({})) {
  const sent: Sent[] = [];
  const db = {
    send: jest.fn(async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const call = { command: command.constructor.name, input: command.input };
      sent.push(call);
      await Promise.resolve();
      return answer(call);
    }),
  };
  const repository = new CategoriesRepository(
    db as unknown as DynamoDBDocumentClient,
    'table',
    new SettableClock().set(NOW),
  );
  const transactions = () =>
    sent.filter((s) => s.command === 'TransactWriteCommand').map((s) => s.input.TransactItems as TransactItems);
  return { repository, sent, transactions };
}
const slugPart: TransactOperation = {
  item: {
    ConditionCheck: { TableName: 'table', Key: { PK: 'x', SK: 'y' }, ConditionExpression: 'attribute_exists(PK)' },
  },
};

describe('CategoriesRepository: the tree version (review 21a M1, M2, L1)', () => {
  it('tree() reads the tree item (strongly consistent) before the categories; 0 when the table has none', async () => {
    const { repository, sent } = setUp((s) =>
      s.command === 'GetCommand' ? {} : { Items: [{ PK: 'CATEGORIES', SK: 'CATEGORY#a', ...category('a') }] },
    );
    expect(await repository.tree()).toEqual({ version: 0, categories: [category('a')] });
    expect(sent.map((s) => s.command)).toEqual(['GetCommand', 'QueryCommand']);
    expect(sent[0].input).toMatchObject({ Key: TREE, ConsistentRead: true });
    const later = setUp((s) => (s.command === 'GetCommand' ? { Item: { ...TREE, version: 5 } } : { Items: [] }));
    expect((await later.repository.tree()).version).toBe(5);
  });

  it('a creation under a parent bumps the tree: created on condition that it is absent (version 0), else at its version', async () => {
    const { repository, transactions } = setUp();
    await repository.create(category('b', { parentId: 'a' }), 0, slugPart);
    await repository.create(category('c', { parentId: 'a' }), 5, slugPart);
    await repository.create(category('d'), undefined, slugPart);
    const [first, second, top] = transactions();
    expect(first[0].Update).toMatchObject({
      Key: TREE,
      ConditionExpression: 'attribute_not_exists(PK)',
      ExpressionAttributeValues: { ':next': 1, ':entity': 'CategoryTree' },
    });
    expect(second[0].Update).toMatchObject({
      Key: TREE,
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': 5, ':next': 6 },
    });
    // at the top level no tree change: the category and its slug only
    expect(top).toHaveLength(2);
    expect(JSON.stringify(top)).not.toContain('"TREE"');
  });

  it('a move bumps the tree, a change that is no move does not; a deletion always does', async () => {
    const { repository, transactions } = setUp();
    await repository.update(category('a'), { parentId: 'b' }, 3);
    await repository.update(category('a'), { name: 'x' }, undefined);
    await repository.delete(category('a'), [category('kid', { parentId: 'a' })], 'b', 4, slugPart);
    const [move, rename, deletion] = transactions();
    expect(move[0].Update).toMatchObject({ Key: TREE, ExpressionAttributeValues: { ':v': 3, ':next': 4 } });
    expect(JSON.stringify(rename)).not.toContain('"TREE"');
    expect(deletion[0].Update).toMatchObject({ Key: TREE, ExpressionAttributeValues: { ':v': 4, ':next': 5 } });
    expect(deletion).toHaveLength(4);
  });

  it('a tree change that lost the race is 412 version_mismatch (read again, retry), nothing written', async () => {
    const { repository } = setUp((s) => {
      if (s.command !== 'TransactWriteCommand') return {};
      throw Object.assign(new Error('cancelled'), {
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      });
    });
    expect(await refusalOf(() => repository.update(category('a'), { parentId: 'b' }, 3))).toBe('412 version_mismatch');
  });
});
