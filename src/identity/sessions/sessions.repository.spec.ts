import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
