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

type Key = { PK: string; SK: string };

describe('CommentsRepository: where a reply is counted (review 13, M-b1)', () => {
  /** A document client double that records every command's input and succeeds. */
  function recordingDb() {
    const inputs: { name: string; input: Record<string, unknown> }[] = [];
    const db = {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        inputs.push({ name: command.constructor.name, input: command.input });
        return Promise.resolve({});
      },
    } as unknown as DynamoDBDocumentClient;
    const transactionKeys = () =>
      inputs
        .filter((sent) => sent.name === 'TransactWriteCommand')
        .flatMap((sent) => sent.input.TransactItems as Record<string, { Key?: Key; Item?: Key }>[])
        .map((item) => Object.values(item)[0])
        .map((operation) => operation.Key ?? operation.Item!)
        .map((key) => `${key.PK} ${key.SK}`);
    return { db, transactionKeys };
  }
  const reply = (overrides: Partial<Comment> = {}): Comment => ({
    ...comment,
    id: 'c2',
    path: `${comment.path}/2026-11-26T08:01:00.000Z#c2`,
    parentId: 'c1',
    depth: 2,
    ...overrides,
  });
  const parentKey = `POST#p1 COMMENT#${comment.path}`;
  const repository = (db: DynamoDBDocumentClient) =>
    new CommentsRepository(db, 't', new CursorCodec('secret'), new PostWriteParts('t'));

  it("a quiet post's reply raises the parent's replyCount; a hot post's writes its parent's pointer, not the parent", async () => {
    const quiet = recordingDb();
    await repository(quiet.db).create(reply());
    expect(quiet.transactionKeys()).toContain(parentKey);
    expect(quiet.transactionKeys()).not.toContain('CMTID#p1#c1 CMTID');

    const hot = recordingDb();
    await repository(hot.db).create(reply({ countedOnParentPointer: true }), 'c1', true);
    expect(hot.transactionKeys()).toContain('CMTID#p1#c1 CMTID');
    expect(hot.transactionKeys().filter((key) => key.startsWith('POST#p1 '))).toEqual([
      `POST#p1 COMMENT#${reply().path}`,
    ]);
  });

  it("a deleted reply takes its 1 off where it was counted, and a delete waits for the pointer's replies", async () => {
    const quiet = recordingDb();
    await repository(quiet.db).delete(reply());
    expect(quiet.transactionKeys()).toContain(parentKey);
    const hot = recordingDb();
    await repository(hot.db).delete(reply({ countedOnParentPointer: true }));
    expect(hot.transactionKeys()).toContain('CMTID#p1#c1 CMTID');
    expect(hot.transactionKeys()).not.toContain(parentKey);
  });
});
