import { jest } from '@jest/globals';
import { notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { refusalOf } from '../common/errors/refusal.testing.js';
import type { CommentsService } from '../comments/comments.service.js';
import type { PostsService } from '../posts/posts.service.js';
import type { UsersService } from '../users/users.service.js';
import { UserErasureWorkflow } from './user-erasure.workflow.js';
import { MemoryAuditLog } from '../logging/audit.js';

/** The workflow over recorders: `marked` are the accounts carrying the erasure marker, `gone` are erased. */
function setUp(marked: string[], gone: string[] = []) {
  const steps: string[] = [];
  const users = {
    isMarkedForErasure: jest.fn((userId: string) => {
      steps.push(`check ${userId}`);
      return gone.includes(userId)
        ? Promise.reject(notFound(ErrorCode.UserNotFound, 'No such user.'))
        : Promise.resolve(marked.includes(userId));
    }),
    prepareErasure: jest.fn((userId: string) => {
      steps.push(`prepare ${userId}`);
      return Promise.resolve();
    }),
    confirmErasure: jest.fn((_userId: string, password: string | undefined) =>
      password === 'right' ? Promise.resolve() : Promise.reject(notFound(ErrorCode.WrongPassword, 'wrong')),
    ),
    eraseAccount: jest.fn((userId: string, options?: { onlyMarked?: boolean }) => {
      steps.push(`erase ${userId} ${JSON.stringify(options)}`);
      return Promise.resolve(true);
    }),
  };
  const walk = (module: string) => ({
    anonymiseAuthor: jest.fn((userId: string) => {
      steps.push(`${module} ${userId}`);
      return Promise.resolve();
    }),
  });
  const audit = new MemoryAuditLog();
  const workflow = new UserErasureWorkflow(
    users as unknown as UsersService,
    walk('posts') as unknown as PostsService,
    walk('comments') as unknown as CommentsService,
    audit,
  );
  return { workflow, steps, audit };
}

describe('UserErasureWorkflow.finishMarkedErasure (the users:finish-erasures sweep)', () => {
  it('an account no longer marked (revived since the Scan): false, its content not walked, nothing erased', async () => {
    const { workflow, steps } = setUp([]);
    expect(await workflow.finishMarkedErasure('u1')).toBe(false);
    expect(steps).toEqual(['check u1']);
  });

  it('a marked account: the check first, then the content walk, then the delete only while still marked', async () => {
    const { workflow, steps } = setUp(['u1']);
    expect(await workflow.finishMarkedErasure('u1')).toBe(true);
    expect(steps).toEqual(['check u1', 'posts u1', 'comments u1', 'erase u1 {"onlyMarked":true}']);
  });

  it('an account gone meanwhile: 404 user_not_found from the check, nothing walked', async () => {
    const { workflow, steps } = setUp([], ['u1']);
    expect(await refusalOf(() => workflow.finishMarkedErasure('u1'))).toBe('404 user_not_found');
    expect(steps).toEqual(['check u1']);
  });
});

describe('UserErasureWorkflow: audit lines (src/logging/audit.ts)', () => {
  it("the sweep's erase is the operator's, written once the account is gone; an unmarked account writes none", async () => {
    const { workflow, audit } = setUp(['u1']);
    expect(await workflow.finishMarkedErasure('u2')).toBe(false);
    expect(audit.entries).toEqual([]);
    await workflow.finishMarkedErasure('u1');
    expect(audit.entries).toEqual([{ action: 'user.erased', actorKind: 'operator', subject: 'u1', mode: 'sweep' }]);
  });

  it("an admin's hard delete names the admin, a self-erasure the account; after the account's delete, none before it", async () => {
    const { workflow, audit, steps } = setUp([]);
    await workflow.erase('u1', 'boss');
    await workflow.eraseSelf('u2', 'right');
    await refusalOf(() => workflow.eraseSelf('u3', 'wrong'));
    expect(steps).toEqual([
      'prepare u1',
      'posts u1',
      'comments u1',
      'erase u1 undefined',
      'prepare u2',
      'posts u2',
      'comments u2',
      'erase u2 undefined',
    ]);
    expect(audit.entries).toEqual([
      { action: 'user.erased', actor: 'boss', actorKind: 'admin', subject: 'u1' },
      { action: 'user.erased', actor: 'u2', actorKind: 'self', subject: 'u2' },
    ]);
  });
});
