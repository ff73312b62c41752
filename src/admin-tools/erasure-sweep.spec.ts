import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { finishStuckErasures } from './erasure-sweep.js';

const NOW = new Date('2026-05-15T12:00:00.000Z');
const quiet = { write: () => true };

/** A table of user items whose Scan applies the sweep's filter as DynamoDB would (the cutoff and the marker). */
function tableOf(users: { id: string; erasureRequestedAt?: string }[]) {
  const scans: ScanCommand['input'][] = [];
  const client = {
    send(command: unknown) {
      if (!(command instanceof ScanCommand)) return Promise.reject(new Error(`unexpected ${String(command)}`));
      scans.push(command.input);
      const cutoff = String(command.input.ExpressionAttributeValues?.[':cutoff']);
      const items = users
        .filter((user) => user.erasureRequestedAt !== undefined && user.erasureRequestedAt <= cutoff)
        .map((user) => ({ PK: `USER#${user.id}`, erasureRequestedAt: user.erasureRequestedAt }));
      return Promise.resolve({ Items: items, ScannedCount: users.length });
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, scans };
}

describe('finishStuckErasures (review 17a L1)', () => {
  const users = [
    { id: 'young', erasureRequestedAt: '2026-05-15T11:50:00.000Z' },
    { id: 'old', erasureRequestedAt: '2026-05-15T10:00:00.000Z' },
    { id: 'older', erasureRequestedAt: '2026-05-14T10:00:00.000Z' },
    { id: 'plain' },
  ];

  it('finishes the erasures asked for before the cutoff, oldest first; a younger one may still be running', async () => {
    const { client, scans } = tableOf(users);
    const erased: string[] = [];
    const finish = (userId: string) => Promise.resolve(erased.push(userId) > 0);
    const result = await finishStuckErasures(client, 'table', finish, {
      olderThanMinutes: 60,
      now: NOW,
      progress: quiet,
    });
    expect(scans[0]).toMatchObject({
      ConsistentRead: true,
      ExpressionAttributeValues: { ':cutoff': '2026-05-15T11:00:00.000Z' },
    });
    expect(erased).toEqual(['older', 'old']);
    expect(result).toMatchObject({ scannedItems: 4, finished: ['older', 'old'], failed: [], skipped: [] });
    expect(result.stuck.map((s) => s.userId)).toEqual(['older', 'old']);
  });

  it('lists only with dryRun; counts an account gone meanwhile as finished and reports one that fails again', async () => {
    const { client } = tableOf(users);
    const none = () => Promise.reject(new Error('must not erase'));
    const dry = await finishStuckErasures(client, 'table', none, {
      olderThanMinutes: 60,
      now: NOW,
      dryRun: true,
      progress: quiet,
    });
    expect(dry).toMatchObject({ finished: [], failed: [] });
    expect(dry.stuck.map((s) => s.userId)).toEqual(['older', 'old']);

    const finish = (userId: string) =>
      Promise.reject(userId === 'older' ? notFound(ErrorCode.UserNotFound, 'No such user.') : new Error('throttled'));
    const result = await finishStuckErasures(client, 'table', finish, {
      olderThanMinutes: 60,
      now: NOW,
      progress: quiet,
    });
    expect(result).toMatchObject({ finished: ['older'], failed: [{ userId: 'old', error: 'throttled' }] });
  });

  it('leaves an account no longer marked on the fresh read (revived since the Scan) as it is: skipped, not finished (review 18d H1)', async () => {
    const { client } = tableOf(users);
    const finish = (userId: string) => Promise.resolve(userId !== 'old');
    const result = await finishStuckErasures(client, 'table', finish, {
      olderThanMinutes: 60,
      now: NOW,
      progress: quiet,
    });
    expect(result).toMatchObject({ finished: ['older'], skipped: ['old'], failed: [] });
  });
});
