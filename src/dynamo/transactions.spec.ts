import type { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { databaseBusy, databaseTimeout } from './dynamo-errors.js';
import {
  composeTransaction,
  MAX_TRANSACTION_ITEMS,
  mustExist,
  nothingWritten,
  putNewWhileOwnerExists,
  retryWhileHeldByTransaction,
  type TransactOperation,
  TransactionTooLargeError,
  transactWrite,
  wasCanceled,
} from './transactions.js';

const check = (n: number, onConditionFailed?: () => Error): TransactOperation => ({
  item: {
    ConditionCheck: { TableName: 't', Key: { PK: `X#${n}`, SK: 'X' }, ConditionExpression: 'attribute_exists(PK)' },
  },
  onConditionFailed,
});

/** DynamoDB's cancellation, with one reason per item sent (`None` where the item was fine). */
const canceled = (codes: string[]) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

/** A client double that answers each TransactWriteItems with the next scripted outcome (an error, or success). */
function fakeClient(outcomes: (Error | undefined)[]) {
  const sent: number[] = [];
  const client = {
    send: (command: TransactWriteCommand) => {
      sent.push(command.input.TransactItems!.length);
      const outcome = outcomes[sent.length - 1];
      return outcome ? Promise.reject(outcome) : Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, sent };
}

class PartError extends Error {}

describe('composeTransaction: the builder that joins the parts of several modules', () => {
  it('flattens single operations and nested parts in order', () => {
    const parts = composeTransaction(check(1), [check(2), [check(3)]], [], check(4));
    expect(parts.map((op) => String(op.item.ConditionCheck?.Key?.PK))).toEqual(['X#1', 'X#2', 'X#3', 'X#4']);
  });

  it(`takes ${MAX_TRANSACTION_ITEMS} items and refuses one more, before anything is sent`, async () => {
    const many = Array.from({ length: MAX_TRANSACTION_ITEMS }, (_, i) => check(i));
    expect(composeTransaction(many.slice(0, 60), many.slice(60))).toHaveLength(MAX_TRANSACTION_ITEMS);
    expect(() => composeTransaction(many, check(100))).toThrow(TransactionTooLargeError);
    const { client, sent } = fakeClient([]);
    await expect(transactWrite(client, [many, check(100)])).rejects.toThrow(/at most 100 items \(got 101\)/);
    expect(sent).toEqual([]);
  });
});

describe('transactWrite: a failed condition is the error of the part it belongs to', () => {
  it('maps the CancellationReasons index to that operation’s error, across parts', async () => {
    const tagGone = new PartError('tag gone');
    const { client } = fakeClient([canceled(['None', 'None', 'ConditionalCheckFailed', 'None'])]);
    const parts = [
      check(1, () => new PartError('post')),
      [check(2, () => new PartError('slug')), check(3, () => tagGone)],
      check(4),
    ];
    const error = await transactWrite(client, parts).catch((e: unknown) => e);
    expect(error).toBe(tagGone);
    expect(wasCanceled(error)).toBe(true);
  });

  it('raises the first failed part’s error when several conditions failed', async () => {
    const { client } = fakeClient([canceled(['None', 'ConditionalCheckFailed', 'ConditionalCheckFailed'])]);
    const error = await transactWrite(client, [
      check(1),
      check(2, () => new PartError('second')),
      check(3, () => new PartError('third')),
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toBe('second');
  });

  it('passes DynamoDB’s own error on when the failed operation names none (still marked cancelled)', async () => {
    const cancellation = canceled(['ConditionalCheckFailed']);
    const { client } = fakeClient([cancellation]);
    const error = await transactWrite(client, [check(1)]).catch((e: unknown) => e);
    expect(error).toBe(cancellation);
    expect(wasCanceled(error)).toBe(true);
  });

  it('retries a cancellation caused only by a conflicting transaction, then maps the real condition', async () => {
    const { client, sent } = fakeClient([
      canceled(['TransactionConflict', 'None']),
      canceled(['None', 'ConditionalCheckFailed']),
    ]);
    const error = await transactWrite(client, [check(1), check(2, () => new PartError('taken'))]).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('taken');
    expect(sent).toEqual([2, 2]);
  });

  it('does not mark an unknown outcome as cancelled (the write may have committed)', async () => {
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    const { client } = fakeClient([timeout]);
    const error = await transactWrite(client, [check(1)]).catch((e: unknown) => e);
    expect(wasCanceled(error)).toBe(false);
  });

  it('nothingWritten: true for a cancelled transaction or a call never sent, false for every unknown outcome', async () => {
    const outcomeOf = async (error: Error) =>
      nothingWritten(
        await transactWrite(fakeClient([error]).client, [check(1, () => new PartError('gone'))]).catch(
          (e: unknown) => e,
        ),
      );
    // DynamoDB's answers that mean "not written": a failed condition, a throttled item, a validation reason.
    expect(await outcomeOf(canceled(['ConditionalCheckFailed']))).toBe(true);
    expect(await outcomeOf(canceled(['ThrottlingError']))).toBe(true);
    expect(await outcomeOf(canceled(['ValidationError']))).toBe(true);
    // The gate's refusals before sending (its queue full, its wait over, the request's budget spent).
    expect(await outcomeOf(databaseBusy())).toBe(true);
    expect(await outcomeOf(databaseTimeout({ unsent: true }))).toBe(true);
    // Unknown outcomes: the transaction may have committed before the answer was lost.
    const cut = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });
    expect(await outcomeOf(databaseTimeout())).toBe(false);
    expect(await outcomeOf(cut('TimeoutError'))).toBe(false);
    expect(await outcomeOf(cut('Error', { code: 'ECONNRESET' }))).toBe(false);
    expect(await outcomeOf(cut('InvalidResponseException'))).toBe(false);
    expect(await outcomeOf(cut('InternalServerError', { $metadata: { httpStatusCode: 500 } }))).toBe(false);
    expect(await outcomeOf(cut('TransactionInProgressException'))).toBe(false);
    // Outside a transaction: a failed condition may be a retry's, after a write that committed unseen.
    expect(nothingWritten(cut('ConditionalCheckFailedException'))).toBe(false);
    expect(nothingWritten(new PartError('not from a write'))).toBe(false);
  });

  it('sends nothing for an empty transaction', async () => {
    const { client, sent } = fakeClient([]);
    await transactWrite(client, [[], []]);
    expect(sent).toEqual([]);
  });
});

describe('mustExist', () => {
  it('is a condition check of existence whose failure is the caller’s error', () => {
    const missing = new PartError('missing');
    const op = mustExist('t', { PK: 'POST#1', SK: 'POST' }, () => missing);
    expect(op.item).toEqual({
      ConditionCheck: {
        TableName: 't',
        Key: { PK: 'POST#1', SK: 'POST' },
        ConditionExpression: 'attribute_exists(PK)',
      },
    });
    expect(op.onConditionFailed?.()).toBe(missing);
  });
});

describe('putNewWhileOwnerExists', () => {
  const item = { PK: 'USER#1', SK: 'JOB', step: 1 };
  const owner = { PK: 'USER#1', SK: 'USER' };

  it('puts the item if new, in one transaction with a check of its owner', async () => {
    const sent: unknown[] = [];
    const client = {
      send: (command: TransactWriteCommand) => (sent.push(command.input.TransactItems), Promise.resolve({})),
    } as unknown as DynamoDBDocumentClient;
    await expect(putNewWhileOwnerExists(client, 't', item, owner)).resolves.toBe(true);
    expect(sent).toEqual([
      [
        { Put: { TableName: 't', Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
        { ConditionCheck: { TableName: 't', Key: owner, ConditionExpression: 'attribute_exists(PK)' } },
      ],
    ]);
  });

  it.each([
    ['the item is there already', ['ConditionalCheckFailed', 'None']],
    ['the owner is gone', ['None', 'ConditionalCheckFailed']],
  ])('answers false when %s', async (_case, reasons) => {
    const { client } = fakeClient([canceled(reasons)]);
    await expect(putNewWhileOwnerExists(client, 't', item, owner)).resolves.toBe(false);
  });

  it('passes any other failure on', async () => {
    const down = Object.assign(new Error('down'), { name: 'InternalServerError' });
    const { client } = fakeClient([down]);
    await expect(putNewWhileOwnerExists(client, 't', item, owner)).rejects.toBeDefined();
  });
});

describe('retryWhileHeldByTransaction', () => {
  const held = () => Object.assign(new Error('held'), { name: 'TransactionConflictException' });

  it('runs the write again while the item is held by a transaction, and answers its outcome', async () => {
    let calls = 0;
    const write = () => (++calls === 1 ? Promise.reject(held()) : Promise.resolve('done'));
    await expect(retryWhileHeldByTransaction(write)).resolves.toBe('done');
    expect(calls).toBe(2);
  });

  it('gives up after its attempts, and passes any other error at once', async () => {
    let calls = 0;
    await expect(retryWhileHeldByTransaction(() => (calls++, Promise.reject(held())), 3)).rejects.toThrow('held');
    expect(calls).toBe(3);
    calls = 0;
    const other = Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' });
    await expect(retryWhileHeldByTransaction(() => (calls++, Promise.reject(other)))).rejects.toBe(other);
    expect(calls).toBe(1);
  });
});
