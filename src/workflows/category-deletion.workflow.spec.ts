import { jest } from '@jest/globals';
import { conflict, DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { databaseTimeout } from '../dynamo/dynamo-errors.js';
import type { PostsService } from '../posts/posts.service.js';
import type { TaxonomyService } from '../taxonomy/taxonomy.service.js';
import { CategoryDeletionWorkflow } from './category-deletion.workflow.js';

/** The workflow over fakes: `moved` posts move, then `failure` (if any) is thrown by the move or the deletion. */
function setUp(moved: number, failure: { at: 'move' | 'delete'; error: Error }) {
  const taxonomy = {
    categoryDeletion: jest.fn(() =>
      Promise.resolve({ category: { id: 'from', postCount: 3 }, moveTo: 'to', children: [] }),
    ),
    deleteCategory: jest.fn(() => (failure.at === 'delete' ? Promise.reject(failure.error) : Promise.resolve())),
  };
  const posts = {
    moveCategoryPosts: jest.fn((_from: string, _to: string, progress: { moved: number }) => {
      progress.moved = moved;
      return failure.at === 'move' ? Promise.reject(failure.error) : Promise.resolve(moved);
    }),
  };
  return new CategoryDeletionWorkflow(taxonomy as unknown as TaxonomyService, posts as unknown as PostsService);
}

const domainErrorThrownBy = async (run: Promise<unknown>): Promise<DomainError> => {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
};

describe('CategoryDeletionWorkflow: a failure after posts moved says where they went', () => {
  it('a database failure of the deletion after 2 posts moved: its 503, Retry-After kept, with movedPostsTo', async () => {
    const error = await domainErrorThrownBy(setUp(2, { at: 'delete', error: databaseTimeout() }).delete('from', 'to'));
    expect(error.status).toBe(503);
    expect(error.code).toBe(ErrorCode.DatabaseTimeout);
    expect(error.extras).toEqual({ retryAfterSeconds: 1, movedPostsTo: 'to' });
    expect(error.message).toContain('2 of its published posts had moved to category to');
  });

  it('a database failure in the middle of the moves, after 1 moved: the same', async () => {
    const error = await domainErrorThrownBy(setUp(1, { at: 'move', error: databaseTimeout() }).delete('from', 'to'));
    expect(error).toMatchObject({ status: 503, extras: { movedPostsTo: 'to' } });
  });

  it('a domain refusal keeps its status and code, with movedPostsTo', async () => {
    const refusal = conflict(ErrorCode.CategoryCycle, 'A cycle.');
    const error = await domainErrorThrownBy(setUp(1, { at: 'delete', error: refusal }).delete('from', 'to'));
    expect(error).toMatchObject({ status: 409, code: ErrorCode.CategoryCycle, extras: { movedPostsTo: 'to' } });
  });

  it('a database failure before any post moved is thrown as it is (nothing moved, nothing to say)', async () => {
    const failure = databaseTimeout();
    await expect(setUp(0, { at: 'move', error: failure }).delete('from', 'to')).rejects.toBe(failure);
  });

  it('a bug (not a refusal nor a database failure) after posts moved stays a bug (a 500 with no extras)', async () => {
    const bug = new TypeError('oops');
    await expect(setUp(2, { at: 'delete', error: bug }).delete('from', 'to')).rejects.toBe(bug);
  });
});
