import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CursorCodec } from '../dynamo/cursor.js';
import { PostWriteParts } from '../posts/post-write-parts.js';
import type { Comment } from './comment.entity.js';
import { CommentsRepository } from './comments.repository.js';

const comment: Comment = {
  id: 'c1',
  postId: 'p1',
  path: '2026-11-26T08:00:00.000Z#c1',
  depth: 1,
  authorId: 'u1',
  content: 'hello',
  status: 'approved',
  deleted: false,
  likeCount: 0,
  createdAt: '2026-11-26T08:00:00.000Z',
  updatedAt: '2026-11-26T08:00:00.000Z',
  version: 1,
};

/** A document client double: the pointer Put succeeds, the transaction fails with `transactionError`. */
function fakeDb(transactionError: Error) {
  const sent: string[] = [];
  const db = {
    send: (command: { constructor: { name: string } }) => {
      const name = command.constructor.name;
      sent.push(name);
      return name === 'TransactWriteCommand' ? Promise.reject(transactionError) : Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  return { db, sent };
}

const canceled = (codes: string[]) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('CommentsRepository.create and the comment pointer', () => {
  const repository = (db: DynamoDBDocumentClient) =>
    new CommentsRepository(db, 't', new CursorCodec('secret'), new PostWriteParts('t'));

  it('removes the pointer when DynamoDB cancelled the transaction (nothing of it was written)', async () => {
    const { db, sent } = fakeDb(canceled(['None', 'ConditionalCheckFailed', 'None']));
    await expect(repository(db).create(comment)).rejects.toBeDefined();
    expect(sent).toEqual(['PutCommand', 'TransactWriteCommand', 'DeleteCommand']);
  });

  it('keeps the pointer after an unknown outcome: the comment may have committed', async () => {
    for (const error of [
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
      Object.assign(new Error('internal'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }),
    ]) {
      const { db, sent } = fakeDb(error);
      await expect(repository(db).create(comment)).rejects.toBeDefined();
      expect(sent).toEqual(['PutCommand', 'TransactWriteCommand']);
    }
  });
});
