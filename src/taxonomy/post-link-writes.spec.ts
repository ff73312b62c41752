import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SystemClock } from '../common/clock/clock.js';
import { DomainError } from '../common/errors/domain-error.js';
import type { ItemKey } from '../dynamo/keys.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import { CategoriesRepository } from './categories.repository.js';
import { type LinkablePost, PostLinkWrites } from './post-link-writes.js';
import { TagsRepository } from './tags.repository.js';

// The parts only build operations: the repositories never send anything here.
const db = {} as DynamoDBDocumentClient;
const clock = new SystemClock();
const links = new PostLinkWrites('t', new TagsRepository(db, 't', clock), new CategoriesRepository(db, 't', clock));

const published = (tagIds: string[], categoryId?: string, title = 'T'): LinkablePost => ({
  id: 'p1',
  tagIds,
  categoryId,
  feed: { publishedAt: '2026-11-26T08:00:00.000Z', linkItem: (key: ItemKey) => ({ ...key, title }) },
});
const draft = (tagIds: string[], categoryId?: string): LinkablePost => ({ id: 'p1', tagIds, categoryId });

/** The item an operation names: `TAG#a` (a tag's link or the tag), `CATFEED#c` (a category's link), `CATEGORY#c`. */
const target = (key: Record<string, unknown> | undefined) =>
  key?.PK === 'CATEGORIES' ? String(key.SK) : String(key?.PK);

/** Each operation in a word: `put TAG#a`, `delete CATFEED#c`, `count TAG#a 1`, `exists CATEGORY#c`. */
function describeOps(operations: TransactOperation[]): string[] {
  return operations.map(({ item }) => {
    if (item.Put) return `put ${target(item.Put.Item)}`;
    if (item.Delete) return `delete ${target(item.Delete.Key)}`;
    if (item.Update)
      return `count ${target(item.Update.Key)} ${String(item.Update.ExpressionAttributeValues?.[':delta'])}`;
    return `exists ${target(item.ConditionCheck?.Key)}`;
  });
}

describe('PostLinkWrites: taxonomy’s parts of a post’s transaction', () => {
  it('link: a published post gets a link and +1 in each tag and its category', () => {
    expect(describeOps(links.link(published(['a', 'b'], 'c')))).toEqual([
      'put TAG#a',
      'put TAG#b',
      'put CATFEED#c',
      'count TAG#a 1',
      'count TAG#b 1',
      'count CATEGORY#c 1',
    ]);
  });

  it('link: a draft gets no links and no counts, only the checks that what it names exists', () => {
    expect(describeOps(links.link(draft(['a'], 'c')))).toEqual(['exists TAG#a', 'exists CATEGORY#c']);
  });

  it('unlink: the links go and each count goes down by one', () => {
    expect(describeOps(links.unlink(published(['a'], 'c')))).toEqual([
      'delete TAG#a',
      'delete CATFEED#c',
      'count TAG#a -1',
      'count CATEGORY#c -1',
    ]);
    expect(links.unlink(draft(['a'], 'c'))).toEqual([]);
  });

  it('relink: a tag swapped on a published post moves its link and count; a kept link is written only when its copy changed', () => {
    expect(describeOps(links.relink(published(['a', 'b']), published(['b', 'd'])))).toEqual([
      'delete TAG#a',
      'put TAG#d',
      'count TAG#a -1',
      'count TAG#d 1',
    ]);
    expect(links.relink(published(['a']), published(['a']))).toEqual([]);
    expect(describeOps(links.relink(published(['a']), published(['a'], undefined, 'New title')))).toEqual([
      'put TAG#a',
    ]);
  });

  it('relink: unpublishing removes the links and counts; a tag the draft keeps naming needs no check', () => {
    expect(describeOps(links.relink(published(['a'], 'c'), draft(['a'], 'c')))).toEqual([
      'delete TAG#a',
      'delete CATFEED#c',
      'count TAG#a -1',
      'count CATEGORY#c -1',
    ]);
    expect(describeOps(links.relink(draft(['a']), draft(['a', 'b'])))).toEqual(['exists TAG#b']);
  });

  it('a missing tag or category fails its own part: 422 with the id', () => {
    const [tagCount, categoryCheck] = [...links.link(published(['a'])).slice(1), ...links.link(draft([], 'c'))];
    for (const [operation, code, id] of [
      [tagCount, 'tag_not_found', 'a'],
      [categoryCheck, 'category_not_found', 'c'],
    ] as const) {
      const error = operation.onConditionFailed!();
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ status: 422, code, extras: { invalidIds: [id] } });
    }
  });

  it('linkKeys: the keys of a published post’s links, none for a draft', () => {
    expect(links.linkKeys(published(['a', 'a'], 'c')).map((key) => key.PK)).toEqual(['TAG#a', 'CATFEED#c']);
    expect(links.linkKeys(draft(['a'], 'c'))).toEqual([]);
  });
});
