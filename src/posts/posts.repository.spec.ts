import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { stripInternal } from '../dynamo/items.js';
import { type PostList, type PostSummary, SUMMARY_ATTRIBUTES } from './post.entity.js';
import { PostsRepository, toPostSummaryItem } from './posts.repository.js';

/** A transaction cancelled because its first item's condition failed, as the SDK reports it. */
const cancelled = () =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
  });

/** A like as a consistent read finds it: counted on the post or on its shard, shown or hidden. */
type LikeRead = 'none' | 'onPost' | 'onShard' | 'hiddenOnPost' | 'hiddenOnShard';
const likeItem = (read: LikeRead) =>
  read === 'none'
    ? {}
    : {
        Item: {
          PK: 'x',
          SK: 'y',
          GSI2SK: read.startsWith('hidden') ? '~#2026#p' : '2026#p',
          ...(read.endsWith('OnPost') ? { countedOnPost: true } : {}),
        },
      };

/** A document client that answers each command with the next scripted answer for its kind. */
function scriptedClient(script: { transactions: ('ok' | 'refused')[]; likeThere: LikeRead[] }) {
  const sent: string[] = [];
  const transactions: TransactWriteCommand[] = [];
  const answer = (command: unknown) => {
    if (command instanceof TransactWriteCommand) {
      sent.push('transaction');
      transactions.push(command);
      if (script.transactions.shift() === 'refused') throw cancelled();
      return {};
    }
    if (command instanceof GetCommand) {
      sent.push('get');
      return likeItem(script.likeThere.shift() ?? 'none');
    }
    throw new Error(`unexpected ${String(command)}`);
  };
  const send = (command: unknown) => Promise.resolve().then(() => answer(command));
  return { client: { send } as never, sent, transactions };
}

/** What a transaction of `removeLike` wrote: the like's condition and the keys of its counters. */
const attempt = (command: TransactWriteCommand) => {
  const items = command.input.TransactItems ?? [];
  return {
    condition: items[0]?.Delete?.ConditionExpression,
    counters: items.slice(1).map((item) => `${String(item.Update?.Key?.PK)} ${String(item.Update?.Key?.SK)}`),
  };
};

const repository = (client: never) =>
  new PostsRepository(client, 'table', undefined as never, undefined as never, new SettableClock());

describe('PostsRepository.removeLike', () => {
  it('is one transaction for a counted like where the heat guessed it: on the post', async () => {
    const { client, sent, transactions } = scriptedClient({ transactions: ['ok'], likeThere: [] });
    await expect(repository(client).removeLike('p', 'u', undefined, true)).resolves.toBe(true);
    expect(sent).toEqual(['transaction']);
    expect(attempt(transactions[0])).toEqual({
      condition: 'attribute_exists(PK) AND NOT begins_with(GSI2SK, :hidden) AND countedOnPost = :true',
      counters: ['POST#p COUNTS', 'USER#u USER#POSTS'],
    });
  });

  it('is one transaction for a counted like where the heat guessed it: on its shard', async () => {
    const { client, sent, transactions } = scriptedClient({ transactions: ['ok'], likeThere: [] });
    await expect(repository(client).removeLike('p', 'u', undefined, false)).resolves.toBe(true);
    expect(sent).toEqual(['transaction']);
    expect(attempt(transactions[0]).condition).toBe(
      'attribute_exists(PK) AND NOT begins_with(GSI2SK, :hidden) AND attribute_not_exists(countedOnPost)',
    );
    expect(attempt(transactions[0]).counters[0]).toMatch(/^POSTLIKES#p#\d+ COUNT$/);
  });

  it('removes the kind a consistent read finds when the guess was wrong', async () => {
    const { client, sent, transactions } = scriptedClient({ transactions: ['refused', 'ok'], likeThere: ['onShard'] });
    await expect(repository(client).removeLike('p', 'u', undefined, true)).resolves.toBe(true);
    expect(sent).toEqual(['transaction', 'get', 'transaction']);
    expect(attempt(transactions[1]).counters).toEqual([
      expect.stringMatching(/^POSTLIKES#p#\d+ COUNT$/),
      'USER#u USER#POSTS',
    ]);
  });

  it("removes a hidden like without its user's likedCount, on the counter it was counted on", async () => {
    const { client, transactions } = scriptedClient({ transactions: ['refused', 'ok'], likeThere: ['hiddenOnPost'] });
    await expect(repository(client).removeLike('p', 'u', undefined, false)).resolves.toBe(true);
    expect(attempt(transactions[1])).toEqual({
      condition: 'begins_with(GSI2SK, :hidden) AND countedOnPost = :true',
      counters: ['POST#p COUNTS'],
    });
  });

  it('answers not liked when the first attempt finds no like and none is there', async () => {
    const { client, sent } = scriptedClient({ transactions: ['refused'], likeThere: ['none'] });
    await expect(repository(client).removeLike('p', 'u')).resolves.toBe(false);
    expect(sent).toEqual(['transaction', 'get']);
  });

  it('goes round again when the sync moved the like between the read and the write (review 11, L2)', async () => {
    // Read shown, hidden by the sync before the write: refused, yet the like is there. The next
    // round's read finds it hidden, and its write removes it.
    const { client, sent, transactions } = scriptedClient({
      transactions: ['refused', 'refused', 'ok'],
      likeThere: ['onShard', 'hiddenOnShard'],
    });
    await expect(repository(client).removeLike('p', 'u')).resolves.toBe(true);
    expect(sent).toEqual(['transaction', 'get', 'transaction', 'get', 'transaction']);
    expect(attempt(transactions[2]).condition).toBe(
      'begins_with(GSI2SK, :hidden) AND attribute_not_exists(countedOnPost)',
    );
  });

  it('answers 503 rather than "not liked" while the like keeps moving', async () => {
    const { client } = scriptedClient({
      transactions: Array(6).fill('refused'),
      likeThere: ['hiddenOnShard', 'onShard', 'hiddenOnShard'],
    });
    await expect(repository(client).removeLike('p', 'u')).rejects.toMatchObject({
      status: 503,
      code: 'transaction_conflict',
    });
  });
});

describe('PostsRepository feed Queries: only the summary attributes', () => {
  const summary: PostSummary = {
    id: 'p1',
    authorId: 'a1',
    title: 'T',
    slug: 't',
    excerpt: 'e',
    featuredImageUrl: 'https://example.com/i.png',
    categoryId: 'c1',
    tagIds: ['t1'],
    status: 'published',
    publishedAt: '2026-11-27T08:00:00.000Z',
    viewCount: 1,
    likeCount: 2,
    commentCount: 3,
    createdAt: '2026-11-27T07:00:00.000Z',
    updatedAt: '2026-11-27T07:30:00.000Z',
    version: 4,
    authorUsername: 'ann',
    authorName: 'Ann',
    authorVersion: 5,
  };

  /** Answers every Query with no entry, every BatchGetItem with nothing; keeps the Queries' inputs. */
  function recordingClient() {
    const queries: QueryCommand['input'][] = [];
    const send = (command: unknown) => {
      if (command instanceof QueryCommand) queries.push(command.input);
      return Promise.resolve(command instanceof QueryCommand ? { Items: [], Count: 0 } : { Responses: {} });
    };
    return { client: { send } as never, queries };
  }
  const feeds = () => {
    const { client, queries } = recordingClient();
    const posts = new PostsRepository(
      client,
      'table',
      undefined as never,
      new CursorCodec('a cursor secret long enough to be a key'),
      new SettableClock(),
    );
    return { posts, queries };
  };
  /** The attributes a Query asks for, its placeholders resolved (undefined: every attribute). */
  const projected = (input: QueryCommand['input']) =>
    input.ProjectionExpression?.split(', ').map((name) => input.ExpressionAttributeNames?.[name] ?? name);

  it('declares every attribute a stored summary holds besides its keys and index keys', () => {
    const stored = stripInternal<Record<string, unknown>>(toPostSummaryItem(summary));
    expect([...SUMMARY_ATTRIBUTES].sort()).toEqual(Object.keys(stored).sort());
  });

  it('asks for them on the global, author and own-posts feeds, and for the link copies on tag and category feeds', async () => {
    const { posts, queries } = feeds();
    const now = '2026-11-27T09:00:00.000Z';
    await posts.globalFeed(20, undefined, now);
    await posts.authorFeed('a1', 20, undefined, now);
    await posts.ownPosts('a1', undefined, 20);
    await posts.ownPosts('a1', 'draft', 20);
    const feedQueries = queries.filter((input) => input.IndexName !== undefined);
    expect(feedQueries.map((input) => input.IndexName)).toEqual(['GSI1', 'GSI2', 'GSI3', 'GSI4']);
    for (const input of feedQueries) {
      expect(projected(input)).toEqual([...SUMMARY_ATTRIBUTES]);
      // The key condition's own placeholders are still there.
      for (const placeholder of input.KeyConditionExpression!.match(/#\w+/g) ?? [])
        expect(input.ExpressionAttributeNames).toHaveProperty([placeholder]);
    }
    queries.length = 0;
    await posts.tagFeed('t1', 20, undefined, now);
    await posts.categoryFeed('c1', 20, undefined, now);
    expect(queries.map(projected)).toEqual([
      ['postId', 'summary'],
      ['postId', 'summary'],
    ]);
  });

  it('asks for no attribute on a skip, which counts entries only (Select COUNT refuses a projection)', async () => {
    const { posts, queries } = feeds();
    const now = '2026-11-27T09:00:00.000Z';
    const lists: PostList[] = [{}, { authorId: 'a1' }, { tagId: 't1' }];
    for (const list of lists) await posts.skip(list, 20, undefined, now);
    const counts = queries.filter((input) => input.Select === 'COUNT');
    expect(counts).toHaveLength(3);
    for (const input of counts) expect(input.ProjectionExpression).toBeUndefined();
  });
});
