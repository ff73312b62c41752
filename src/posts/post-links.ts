import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { itemSizeBytes } from '../dynamo/item-size.js';
import { ENTITY, type ItemKey } from '../dynamo/keys.js';
import { type PostSummary, SUMMARY_ATTRIBUTES } from './post.entity.js';

type Item = Record<string, NativeAttributeValue>;

/**
 * The largest link item that carries a copy of its post's summary. A feed page of 20 such links
 * is at most 24 KB: one eventually consistent Query of at most 3 RCU, with no read of the
 * summaries (issue 15). A post whose summary does not fit (a 500-character excerpt in a
 * non-Latin script, a 2 KB image link) gets a link without the copy, and the feed reads that
 * summary as before: correct, only dearer for that post.
 */
export const LINK_ITEM_MAX_BYTES = 1200;

/**
 * The summary fields a link copies: all of them (what a feed shows, nothing internal), the
 * author's display data included, which the stream processor's fan-out updates in place (issue 17).
 */
const COPIED = SUMMARY_ATTRIBUTES;

/**
 * A tag's or category's link to a published post. It is written (again) in the same transaction
 * as every save of the post that changes what it copies, so the copy is never older than the
 * post's last edit; the counts in it are the ones the save knew (see docs/data-model.md).
 */
export function toPostLinkItem(key: ItemKey, summary: PostSummary & { publishedAt: string }): Item {
  const base: Item = { ...key, entity: ENTITY.PostLink, postId: summary.id, publishedAt: summary.publishedAt };
  const copy: Item = {};
  for (const field of COPIED) if (summary[field] !== undefined) copy[field] = summary[field];
  const withCopy = { ...base, summary: copy };
  return itemSizeBytes(withCopy) <= LINK_ITEM_MAX_BYTES ? withCopy : base;
}

/** The summary a link carries, or undefined for a link without one (too large, or written before the copy existed). */
export function summaryFromLink(item: Item): PostSummary | undefined {
  const copy = item.summary as PostSummary | undefined;
  return copy && typeof copy === 'object' ? { ...copy, tagIds: [...(copy.tagIds ?? [])] } : undefined;
}
