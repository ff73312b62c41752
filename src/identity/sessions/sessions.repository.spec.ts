import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SessionTally } from '../login-bookkeeping.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Session } from './session.entity.js';
import { SessionsRepository } from './sessions.repository.js';

const error = (name: string) => Object.assign(new Error(name), { name });

/** A client double answering each call with the next scripted error (or success once they run out). */
function repositoryAnswering(errors: Error[]) {
  let calls = 0;
  const db = {
    send: () => {
      calls++;
      const next = errors.shift();
      return next ? Promise.reject(next) : Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  const config = { auth: { sessionMaxAgeSeconds: 86_400 } } as unknown as AppConfig;
  const repository = new SessionsRepository(db, 'table', config, { now: () => new Date('2026-11-27T12:00:00Z') });
  return { repository, calls: () => calls };
}

const session: Session = {
  id: 's1',
  userId: 'u1',
  createdAt: '2026-11-27T11:00:00.000Z',
  lastUsedAt: '2026-11-27T11:00:00.000Z',
  expiresAt: '2026-11-28T11:00:00.000Z',
  refreshTokenHash: 'old',
  previousTokenHashes: [],
  generation: 0,
};
const next = { hash: 'new', expiresAt: '2026-11-28T12:00:00.000Z', usedAt: '2026-11-27T12:00:00.000Z', generation: 1 };

// Review 15a L2: a sign-in at the session cap deletes the evicted sessions in its transaction; a
// refresh or a logout of one of them at that moment is answered TransactionConflictException.
describe('SessionsRepository: a session held by a sign-in evicting it', () => {
  it("rotate tries again, and answers the eviction's outcome (false: the session is gone, a 401)", async () => {
    const { repository, calls } = repositoryAnswering([
      error('TransactionConflictException'),
      error('ConditionalCheckFailedException'),
    ]);
    await expect(repository.rotate(session, 'old', next)).resolves.toBe(false);
    expect(calls()).toBe(2);
  });

  it('revoke tries again, and answers the outcome (true when the eviction lost its race)', async () => {
    const { repository, calls } = repositoryAnswering([error('TransactionConflictException')]);
    await expect(repository.revoke('u1', 's1')).resolves.toBe(true);
    expect(calls()).toBe(2);
  });

  it('a conflict that outlasts the attempts still fails (503), after 3 calls', async () => {
    const held = () => error('TransactionConflictException');
    const { repository, calls } = repositoryAnswering([held(), held(), held()]);
    await expect(repository.revoke('u1', 's1')).rejects.toThrow('TransactionConflictException');
    expect(calls()).toBe(3);
  });
});

interface TransactPart {
  Put?: { Item: Record<string, unknown> };
  Update?: {
    ConditionExpression?: string;
    UpdateExpression: string;
    ExpressionAttributeValues: Record<string, unknown>;
  };
  Delete?: { Key: { SK: string } };
}
interface Input {
  TransactItems: TransactPart[];
  RequestItems: Record<string, { DeleteRequest: { Key: { SK: string } } }[]>;
}
type Command = { constructor: { name: string }; input: Input };

/**
 * A client double for the session cap: each call is recorded and answered by `answer` (per
 * command name); the clock moves 50 ms a call, as round trips do.
 */
function capRepository(answer: (name: string, input: Input, calls: Command[]) => unknown) {
  const calls: Command[] = [];
  let now = Date.parse('2026-11-27T12:00:00.000Z');
  const db = {
    send: (command: Command) => {
      calls.push(command);
      now += 50;
      try {
        return Promise.resolve(answer(command.constructor.name, command.input, calls) ?? {});
      } catch (failure) {
        return Promise.reject(failure instanceof Error ? failure : new Error(String(failure)));
      }
    },
  } as unknown as DynamoDBDocumentClient;
  const config = { auth: { sessionMaxAgeSeconds: 30 * 86_400 } } as unknown as AppConfig;
  const repository = new SessionsRepository(db, 'table', config, { now: () => new Date(now) });
  return { repository, calls };
}

/** The sign-in item's condition lost to a concurrent sign-in (index 1 of the transaction). */
const countChanged = () =>
  Object.assign(new Error('cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
  });
const under: SessionTally = { bound: 1, logins: 5, sessionsCounted: true };
const signInItem = { Item: { loginCount: 6, sessionCount: 2, sessionCountLogins: 6 } };
const putOf = (command: Command) => command.input.TransactItems[0].Put!.Item;

describe('SessionsRepository.openWithinCap', () => {
  it('a sign-in that lost a race for the cap is stamped anew: it does not look older than the one that won (review 15a L3)', async () => {
    let transactions = 0;
    const { repository, calls } = capRepository((name) => {
      if (name === 'GetCommand') return signInItem;
      if (name === 'TransactWriteCommand' && ++transactions === 1) throw countChanged();
      return undefined;
    });
    const written = await repository.openWithinCap(session, 5, under);
    const sent = calls.filter((c) => c.constructor.name === 'TransactWriteCommand');
    expect(sent).toHaveLength(2);
    expect(putOf(sent[1]).createdAt).toBe(written.createdAt);
    expect(written.createdAt > session.createdAt).toBe(true);
    expect(written.lastUsedAt).toBe(written.createdAt);
    // The same lifetime from the new stamp; the sign-in item records the same time.
    expect(Date.parse(written.expiresAt) - Date.parse(written.createdAt)).toBe(
      Date.parse(session.expiresAt) - Date.parse(session.createdAt),
    );
    expect(sent[1].input.TransactItems[1].Update!.ExpressionAttributeValues[':at']).toBe(written.createdAt);
  });

  it('after 3 lost races it creates the session uncounted, then trims to the cap (review 15a L5)', async () => {
    const live = Array.from({ length: 6 }, (_, n) => ({
      PK: 'USER#u1',
      SK: `SESSION#old${n}`,
      createdAt: `2026-11-27T10:0${n}:00.000Z`,
      expiresAt: '2026-11-30T00:00:00.000Z',
    }));
    const { repository, calls } = capRepository((name, input) => {
      if (name === 'GetCommand') return signInItem;
      // Every counted attempt loses; the uncounted create (no condition on the sign-in item) commits.
      if (name === 'TransactWriteCommand' && input.TransactItems[1].Update!.ConditionExpression) throw countChanged();
      if (name === 'QueryCommand') return { Items: live };
      return undefined;
    });
    const written = await repository.openWithinCap(session, 5, under);
    const names = calls.map((c) => c.constructor.name);
    expect(names).toEqual([
      'TransactWriteCommand',
      'GetCommand',
      'TransactWriteCommand',
      'GetCommand',
      'TransactWriteCommand',
      'TransactWriteCommand',
      'QueryCommand',
      'BatchWriteCommand',
    ]);
    const create = calls[5];
    expect(putOf(create).createdAt).toBe(written.createdAt);
    expect(create.input.TransactItems[1].Update!.UpdateExpression).toContain('ADD loginCount :one');
    expect(create.input.TransactItems[1].Update!.UpdateExpression).not.toContain('sessionCount');
    // The trim keeps the 5 newest of the Query's 6 live ones: the oldest goes.
    const deleted = calls[7].input.RequestItems.table.map(
      (r: { DeleteRequest: { Key: { SK: string } } }) => r.DeleteRequest.Key.SK,
    );
    expect(deleted).toEqual(['SESSION#old0']);
  });

  it('past 98 evictions the rest go in a batch after it, and the count includes them until then (review 15a L5)', async () => {
    const live = Array.from({ length: 120 }, (_, n) => ({
      PK: 'USER#u1',
      SK: `SESSION#s${String(n).padStart(3, '0')}`,
      createdAt: new Date(Date.parse('2026-11-27T00:00:00.000Z') + n * 60_000).toISOString(),
      expiresAt: '2026-11-30T00:00:00.000Z',
    }));
    const { repository, calls } = capRepository((name) => (name === 'QueryCommand' ? { Items: live } : undefined));
    await repository.openWithinCap(session, 5, { bound: undefined, logins: 7, sessionsCounted: true });
    const transaction = calls.find((c) => c.constructor.name === 'TransactWriteCommand')!;
    expect(transaction.input.TransactItems).toHaveLength(100);
    const batches = calls.filter((c) => c.constructor.name === 'BatchWriteCommand');
    const later = batches.flatMap((b) => b.input.RequestItems.table);
    expect(later).toHaveLength(120 - 4 - 98);
    // 4 kept, the new one, and the 18 the batch deletes after the transaction: if it throws, the
    // count still bounds the live sessions.
    expect(transaction.input.TransactItems[1].Update!.ExpressionAttributeValues[':count']).toBe(4 + 1 + later.length);
    // The newest 4 stay: none of them is deleted.
    const deletedKeys = [
      ...transaction.input.TransactItems.slice(2).map((i) => i.Delete!.Key.SK),
      ...later.map((r) => r.DeleteRequest.Key.SK),
    ];
    expect(deletedKeys).toHaveLength(116);
    expect(deletedKeys).not.toContain('SESSION#s119');
    expect(deletedKeys).not.toContain('SESSION#s116');
    expect(deletedKeys).toContain('SESSION#s115');
  });
});

/** A session item of the user `u1` signed in at `sessionEpoch` (absent: before any raise). */
const sessionItem = (id: string, sessionEpoch?: number, expiresAt = '2026-11-30T00:00:00.000Z') => ({
  PK: 'USER#u1',
  SK: `SESSION#${id}`,
  id,
  createdAt: '2026-11-27T10:00:00.000Z',
  expiresAt,
  ...(sessionEpoch === undefined ? {} : { sessionEpoch }),
});
/** A password change from session `kept` raised the epoch to 2. */
const cutoff = { epoch: 2, keeps: 'kept' };

describe('SessionsRepository: sessions ended by the user item’s epoch', () => {
  it('findWithUser (guard and refresh) finds no session of an earlier epoch but the kept one', async () => {
    const user = { PK: 'USER#u1', SK: 'USER', id: 'u1', sessionEpoch: 2, sessionEpochKeeps: 'kept' };
    const found = async (item: Record<string, unknown>) => {
      const { repository } = capRepository((name) =>
        name === 'BatchGetCommand' ? { Responses: { table: [item, user] } } : undefined,
      );
      return (await repository.findWithUser('u1', String(item.id))).session?.id;
    };
    expect(await found(sessionItem('old'))).toBeUndefined();
    expect(await found(sessionItem('older', 1))).toBeUndefined();
    expect(await found(sessionItem('kept', 1))).toBe('kept');
    expect(await found(sessionItem('new', 2))).toBe('new');
  });

  it('deleteEnded deletes ended and dead items only, sends a batch held by a transaction again, and never throws', async () => {
    const items = [
      sessionItem('old'),
      sessionItem('kept', 1),
      sessionItem('new', 2),
      sessionItem('expired', 2, '2026-11-27T00:00:00.000Z'),
    ];
    let batches = 0;
    const { repository, calls } = capRepository((name) => {
      if (name === 'QueryCommand') return { Items: items };
      if (name === 'BatchWriteCommand' && ++batches === 1) throw error('TransactionConflictException');
      return undefined;
    });
    expect(await repository.deleteEnded('u1', cutoff)).toBe(2);
    const sent = calls.filter((c) => c.constructor.name === 'BatchWriteCommand');
    expect(sent).toHaveLength(2);
    expect(sent[1].input.RequestItems.table.map((r) => r.DeleteRequest.Key.SK).sort()).toEqual([
      'SESSION#expired',
      'SESSION#old',
    ]);

    // A failure that outlasts the retries leaves items no read accepts: logged, not thrown.
    const { repository: failing } = capRepository((name) => {
      if (name === 'QueryCommand') return { Items: items };
      if (name === 'BatchWriteCommand') throw error('TransactionConflictException');
      return undefined;
    });
    await expect(failing.deleteEnded('u1', cutoff)).resolves.toBe(0);
  });

  it('a sign-in at the cap counts ended sessions as dead: deleted with its transaction, not counted', async () => {
    const items = [sessionItem('old'), sessionItem('kept', 1), sessionItem('new', 2)];
    const { repository, calls } = capRepository((name) => (name === 'QueryCommand' ? { Items: items } : undefined));
    await repository.openWithinCap(session, 5, { bound: undefined, logins: 7, sessionsCounted: true }, cutoff);
    const transaction = calls.find((c) => c.constructor.name === 'TransactWriteCommand')!;
    expect(transaction.input.TransactItems.slice(2).map((i) => i.Delete!.Key.SK)).toEqual(['SESSION#old']);
    // kept and new stay live beside the new session.
    expect(transaction.input.TransactItems[1].Update!.ExpressionAttributeValues[':count']).toBe(3);
  });
});
