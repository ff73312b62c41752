import { createHash } from 'node:crypto';
import type { Item } from '../dynamo/stream-record.js';
import { type MappedEvent, type OutboundEvent, postData } from './outbound-event.js';

/**
 * The `post.published` a scheduled post's `post.scheduled` holds back until its time (session 22:
 * reaching `publishedAt` writes nothing, so no record and no event came then). Stored with the
 * `post.scheduled`, its deliveries due at `publishedAt` in their webhooks' due partitions; when the
 * first of them comes due, the dispatcher reads the post again and sends `post.published` as the
 * post is then, or nothing (docs/streams.md, "A scheduled post's time").
 */
export interface DeferredPublication {
  postId: string;
  /** The time it was scheduled for: the post must still be published at exactly this time. */
  publishedAt: string;
  /** Its author when scheduled: an erasure's anonymisation moves the post to `deleted-user`. */
  authorId: string;
}

/**
 * `evt_` and 32 hex characters of the SHA-256 of the post and its time, not of a record: every
 * `post.scheduled` of that post for that time (the record handled again, replayed, or a schedule
 * moved away and back before the time) is the same event, stored once, so one delivery per webhook.
 */
export function deferredPublicationId(postId: string, publishedAt: string): string {
  const source = `post.published|${postId}|${publishedAt}`;
  return `evt_${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

/**
 * The held-back `post.published` of a `post.scheduled` (none for any other event): no body is
 * stored until its time (this `data`, id and time, is never sent); `occurredAt` is the time the post
 * becomes public. Its owner is the author, so that the author's erasure removes it.
 */
export function deferredPublicationOf(
  scheduled: MappedEvent,
  authorId: unknown,
): { mapped: MappedEvent; deferred: DeferredPublication } | undefined {
  const { type, data } = scheduled.event;
  if (type !== 'post.scheduled' || typeof data.publishedAt !== 'string' || typeof authorId !== 'string') return;
  const deferred = { postId: String(data.id), publishedAt: data.publishedAt, authorId };
  const event: OutboundEvent = {
    id: deferredPublicationId(deferred.postId, deferred.publishedAt),
    type: 'post.published',
    occurredAt: deferred.publishedAt,
    data: { id: deferred.postId, publishedAt: deferred.publishedAt },
  };
  return { mapped: { event, ownerId: authorId }, deferred };
}

/**
 * What to send at the time: `post.published` with the post's fields as they are now (an edit
 * before the time included, with its `version`), as an immediate publication sends them; or why
 * nothing goes (the late re-check's rule): the post is gone, no longer published, published at
 * another time (rescheduled, or published at once instead: that time's own event stands), or no
 * longer its author's (an erasure anonymised it). The author's account is checked apart, in the
 * write that stores the body (suspended, deactivated or erased: nothing).
 */
export function publicationAt(
  eventId: string,
  deferred: DeferredPublication,
  post: Item | undefined,
): { event: OutboundEvent } | { withdrawn: string } {
  if (!post) return { withdrawn: 'post deleted before its time' };
  if (post.status !== 'published') return { withdrawn: `post unscheduled (${String(post.status)}) before its time` };
  if (post.publishedAt !== deferred.publishedAt) return { withdrawn: 'post rescheduled or published at another time' };
  if (post.authorId !== deferred.authorId) return { withdrawn: 'post no longer its author’s' };
  return {
    event: { id: eventId, type: 'post.published', occurredAt: deferred.publishedAt, data: postData(post) },
  };
}
