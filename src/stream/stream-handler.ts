import type { StreamItemType } from '../dynamo/item-types.js';
import type { ItemChange } from '../dynamo/stream-record.js';

/**
 * One effect of the stream: what it does when an item of `itemType` changes. The stream
 * delivers each record at least once and, across items, in no fixed order: `handle` must be safe
 * to run twice and must finish a job a crash cut short when the same record comes again.
 */
export interface StreamHandler {
  readonly name: string;
  /** The kind of item it acts on, or several (the outbound events read posts, comments and users). */
  readonly itemType: StreamItemType | readonly StreamItemType[];
  handle(change: ItemChange, itemId: string): Promise<void>;
  /**
   * Optional: the batch's changes of `itemType` at once, in stream order, before the records are
   * handled one by one (and then `handle` is not called for them). For an effect that coalesces a
   * batch into fewer writes (the view-shard fold writes a post's counter item once per batch, not
   * once per view). The same rules hold: safe to run twice, and on a failure the whole batch comes
   * again.
   */
  handleBatch?(changes: readonly { change: ItemChange; id: string }[]): Promise<void>;
}
