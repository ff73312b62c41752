import { jest } from '@jest/globals';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { accountFixture } from '../identity/account.testing.js';
import type { User } from './user.entity.js';
import { UsersRepository } from './users.repository.js';

type Update = {
  Key?: { SK?: string };
  UpdateExpression?: string;
  ExpressionAttributeValues?: Record<string, unknown>;
  ExpressionAttributeNames?: Record<string, string>;
};
type Command = { constructor: { name: string }; input: Update & { TransactItems?: { Update?: Update }[] } };

/** The repository on a client that answers every call and records it. */
function setUp() {
  const calls: Command[] = [];
  const db = {
    send: jest.fn((command: Command) => {
      calls.push(command);
      return Promise.resolve({ Attributes: { sessionEpoch: 4 } });
    }),
  };
  const repository = new UsersRepository(db as unknown as DynamoDBDocumentClient, 'table', new SettableClock());
  /** The user item's update: its own UpdateItem, or the transaction's Update of the user item. */
  const userUpdate = (): { expression: string; values: Record<string, unknown>; names: Record<string, string> } => {
    const last = calls.at(-1)!;
    const update =
      last.constructor.name === 'TransactWriteCommand'
        ? last.input.TransactItems!.find((i) => i.Update?.Key?.SK === 'USER')!.Update!
        : last.input;
    return {
      expression: String(update.UpdateExpression),
      values: update.ExpressionAttributeValues ?? {},
      names: update.ExpressionAttributeNames ?? {},
    };
  };
  /** The attributes the update ADDs and REMOVEs, by name. */
  const changed = () => {
    const { expression, names } = userUpdate();
    const named = (clause: string) =>
      [...(expression.match(new RegExp(`${clause} ([^A-Z]*)`))?.[1] ?? '').matchAll(/#\w+/g)].map(([p]) => names[p]);
    return { add: named('ADD'), remove: named('REMOVE') };
  };
  return { repository, calls, changed };
}

const user = (overrides: Partial<User> = {}): User => {
  const { passwordHash: _hash, ...rest } = accountFixture('u1', { version: 3, sessionEpoch: 2, ...overrides });
  return rest;
};

describe('UsersRepository: the writes that end sessions raise the epoch (review 16a L6)', () => {
  it('a move to suspended or inactive raises the epoch and drops the keep; a role change or a reactivation does not', async () => {
    const { repository, changed } = setUp();
    for (const status of ['suspended', 'inactive'] as const) {
      expect(await repository.setRoleAndStatus(user(), { status })).toEqual({ epoch: 3 });
      expect(changed().add).toContain('sessionEpoch');
      expect(changed().remove).toContain('sessionEpochKeeps');
    }
    for (const next of [{ role: 'moderator' as const }, { status: 'active' as const }]) {
      expect(await repository.setRoleAndStatus(user({ status: 'suspended' }), next)).toEqual({
        epoch: 2,
        keeps: undefined,
      });
      expect(changed().add).not.toContain('sessionEpoch');
      expect(changed().remove).not.toContain('sessionEpochKeeps');
    }
  });

  it('the admin takeover raises the epoch and drops the keep', async () => {
    const { repository, changed } = setUp();
    expect(await repository.takeOverAsAdmin(user(), 'operator hash')).toEqual({ epoch: 3 });
    expect(changed().add).toEqual(expect.arrayContaining(['sessionEpoch', 'passwordGeneration']));
    expect(changed().remove).toContain('sessionEpochKeeps');
  });

  it('sign-out everywhere raises the version with the epoch, so a write conditioned on the version read fails (L1)', async () => {
    const { repository, changed } = setUp();
    expect(await repository.endSessions('u1')).toEqual({ epoch: 4 });
    expect(changed().add).toEqual(expect.arrayContaining(['sessionEpoch', 'version']));
    expect(changed().remove).toEqual(['sessionEpochKeeps']);
  });
});

describe('UsersRepository: the status of an account whose erasure is pending (review 19b M1, L3)', () => {
  const marked = (overrides: Partial<User> = {}) =>
    user({ status: 'suspended', erasureRequestedAt: '2026-11-28T00:00:00.000Z', erasureSignIn: true, ...overrides });
  const refusal = async (write: () => Promise<unknown>) =>
    write().then(
      () => 'written',
      (error: { status?: number; code?: string }) => `${error.status} ${error.code}`,
    );

  it('no write changes it (409 erasure_pending, nothing sent), whoever the caller; a role change or the same status is written', async () => {
    const { repository, calls } = setUp();
    for (const status of ['active', 'inactive', 'pending'] as const)
      expect(await refusal(() => repository.setRoleAndStatus(marked(), { status }))).toBe('409 erasure_pending');
    expect(await refusal(() => repository.setRoleAndStatus(marked({ status: 'inactive' }), { status: 'active' }))).toBe(
      '409 erasure_pending',
    );
    expect(await refusal(() => repository.takeOverAsAdmin(marked(), 'operator hash'))).toBe('409 erasure_pending');
    expect(calls).toHaveLength(0);
    await repository.setRoleAndStatus(marked(), { role: 'moderator' });
    await repository.setRoleAndStatus(marked(), { status: 'suspended' });
    expect(calls).toHaveLength(2);
  });

  it("the erase's own write (it sets erasureRequestedAt) is the one that may change the status", async () => {
    const { repository, calls } = setUp();
    await repository.setRoleAndStatus(marked({ status: 'active', erasureSignIn: undefined }), {
      status: 'suspended',
      erasureRequestedAt: '2026-11-28T00:00:00.000Z',
      erasureSignIn: true,
    });
    expect(calls).toHaveLength(1);
  });

  it('an undo link of a marked account restores the address but keeps the status and the password (review 19b M1, L6); unmarked, it reactivates and replaces the password', async () => {
    const { repository, changed, calls } = setUp();
    const target = { email: 'old@example.com', generation: 1, expiresAt: '2099-01-01T00:00:00.000Z' };
    const consume = { item: { Delete: { TableName: 'table', Key: { PK: 'TOKEN#x', SK: 'TOKEN' } } } };
    const written = () => {
      const update = calls.at(-1)!.input.TransactItems!.find((i) => i.Update?.Key?.SK === 'USER')!.Update!;
      const values = Object.values(update.ExpressionAttributeValues ?? {});
      return { values, ...changed() };
    };
    // Deactivated by its owner: unmarked, the revert would reactivate it (review 18b L3).
    for (const status of ['inactive', 'suspended'] as const) {
      const account = marked({ status, ...(status === 'inactive' ? { deactivatedBy: 'owner' as const } : {}) });
      // Its status kept: nothing reactivated for the audit line (review 23 L-2).
      expect(
        await repository.revertEmail(account, { target, kept: [], undone: [] }, 'unusable hash', consume),
      ).not.toHaveProperty('reactivated');
      const { values, add } = written();
      expect(values).toContain('old@example.com');
      expect(values).not.toContain('unusable hash');
      expect(values).not.toContain('active');
      expect(add).not.toContain('passwordGeneration');
      expect(add).toEqual(expect.arrayContaining(['resetGeneration', 'sessionEpoch', 'emailGeneration']));
    }
    const reactivated = await repository.revertEmail(
      user({ status: 'inactive', deactivatedBy: 'owner' }),
      { target, kept: [], undone: [] },
      'unusable hash',
      consume,
    );
    expect(reactivated).toMatchObject({ reactivated: true });
    expect(written().values).toEqual(expect.arrayContaining(['unusable hash', 'active']));
    expect(written().add).toContain('passwordGeneration');
  });
});

describe('UsersRepository.findStatus', () => {
  it('reads eventually consistently by default and strongly consistently when asked (the admin listing)', async () => {
    const { repository, calls } = setUp();
    await repository.findStatus('u1');
    await repository.findStatus('u1', true);
    expect(
      calls.map((call) => [call.constructor.name, (call.input as { ConsistentRead?: boolean }).ConsistentRead]),
    ).toEqual([
      ['GetCommand', false],
      ['GetCommand', true],
    ]);
  });
});
