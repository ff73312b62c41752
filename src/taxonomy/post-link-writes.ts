import { Inject, Injectable } from '@nestjs/common';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { type ItemKey, Keys } from '../dynamo/keys.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import { CategoriesRepository } from './categories.repository.js';
import { TagsRepository } from './tags.repository.js';

type Item = Record<string, NativeAttributeValue>;

/** What taxonomy needs to know of a post to link it: the tags and category it names and, while it is in the feeds, its links. */
export interface LinkablePost {
  id: string;
  tagIds: readonly string[];
  categoryId?: string;
  /**
   * Set while the post is in the feeds (published): when it went out (the links' sort key) and
   * the link item for a link key (the posts module's copy of its summary: see posts/post-links.ts).
   */
  feed?: { publishedAt: string; linkItem: (key: ItemKey) => Item };
}

/**
 * The writes taxonomy owns when a post is linked to its tags and category, as transaction parts
 * for the post's own write: the link items in the tags' and category's feeds and their exact
 * `postCount`s (docs/data-model.md). The posts module adds them to the transaction that saves the
 * post; it never writes a tag's or category's attributes itself.
 */
@Injectable()
export class PostLinkWrites {
  constructor(
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly tags: TagsRepository,
    private readonly categories: CategoriesRepository,
  ) {}

  /** Links a new post: its links and +1 on each count while it is in the feeds; the tags and category it names must exist. */
  link(post: LinkablePost): TransactOperation[] {
    return this.relink(undefined, post);
  }

  /** Unlinks a deleted post: its links go, each count -1. */
  unlink(post: LinkablePost): TransactOperation[] {
    return this.relink(post, undefined);
  }

  /**
   * The link items and exact counts that follow a post from one state to the next: a tag or
   * category gains a link and +1 when the post enters its feed, loses both when it leaves; a link
   * whose copy of the post changes is written again. Tags and categories a post newly names
   * without entering their feed (a draft) are checked for existence (422 with the id otherwise).
   */
  relink(before: LinkablePost | undefined, after: LinkablePost | undefined): TransactOperation[] {
    const operations: TransactOperation[] = [];
    const old = this.linksOf(before);
    const next = this.linksOf(after);
    for (const [id, key] of old) {
      if (!next.has(id)) operations.push({ item: { Delete: { TableName: this.tableName, Key: key } } });
    }
    // A link carries a copy of the summary: a new link is written, and so is a kept one whose
    // copy this save changes (an edit rewrites its links: see docs/data-model.md for the cost).
    for (const [id, key] of next) {
      const item = after!.feed!.linkItem(key);
      const previous = old.has(id) ? before!.feed!.linkItem(key) : undefined;
      if (previous === undefined || JSON.stringify(previous) !== JSON.stringify(item)) {
        operations.push({ item: { Put: { TableName: this.tableName, Item: item } } });
      }
    }
    for (const kind of ['tag', 'category'] as const) {
      const named = (post: LinkablePost | undefined) =>
        new Set(kind === 'tag' ? (post?.tagIds ?? []) : post?.categoryId ? [post.categoryId] : []);
      const counted = (post: LinkablePost | undefined) => (post?.feed ? named(post) : new Set<string>());
      const was = counted(before);
      const is = counted(after);
      const referenced = named(after);
      const previously = named(before);
      for (const id of new Set([...was, ...is, ...referenced])) {
        const delta = (is.has(id) ? 1 : 0) - (was.has(id) ? 1 : 0);
        if (delta !== 0) {
          operations.push(
            kind === 'tag' ? this.tags.postCountChange(id, delta) : this.categories.postCountChange(id, delta),
          );
        } else if (referenced.has(id) && !previously.has(id)) {
          operations.push(kind === 'tag' ? this.tags.existenceCheck(id) : this.categories.existenceCheck(id));
        }
      }
    }
    return operations;
  }

  /** The keys of a post's links (none while it is not in the feeds). */
  linkKeys(post: LinkablePost): ItemKey[] {
    return [...this.linksOf(post).values()];
  }

  /** A post's link keys by `PK|SK` (a post naming a tag twice has one link). */
  private linksOf(post: LinkablePost | undefined): Map<string, ItemKey> {
    const links = new Map<string, ItemKey>();
    if (!post?.feed) return links;
    const keys = [
      ...post.tagIds.map((tagId) => Keys.tagPostLink(tagId, post.feed!.publishedAt, post.id)),
      ...(post.categoryId ? [Keys.categoryPostLink(post.categoryId, post.feed.publishedAt, post.id)] : []),
    ];
    for (const key of keys) links.set(`${key.PK}|${key.SK}`, key);
    return links;
  }
}
