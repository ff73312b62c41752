import { createHash } from 'node:crypto';
import type { StreamItemType } from '../dynamo/item-types.js';
import { DELETED_USER_ID } from '../identity/account.js';
import type { Item, ItemChange } from '../dynamo/stream-record.js';
import { PUBLICATION_HELD_BACK } from '../migrations/0015-held-back-publications.js';
import { OUTBOUND_EVENT_TYPES, type OutboundEventType } from '../config/app-config.js';

// The list lives with the configuration, which validates WEBHOOK_URLS' event filters against it.
export { OUTBOUND_EVENT_TYPES, type OutboundEventType };

/** What receivers get (the JSON body of a webhook call) and `GET /admin/events` lists. */
export interface OutboundEvent {
  /** Derived from the stream record: the same record delivered twice yields the same id (receivers deduplicate on it). */
  id: string;
  type: OutboundEventType;
  /** When DynamoDB recorded the change (to the second). */
  occurredAt: string;
  /** Public fields only, chosen field by field below: never emails, hashes, tokens or internal keys. */
  data: Record<string, string | number | boolean | string[] | null>;
}

/** An event with the user it names, if any (so that the user's erasure removes it). */
export interface MappedEvent {
  event: OutboundEvent;
  ownerId: string | undefined;
  /**
   * A `post.scheduled` not to be stored or sent again: only its held-back `post.published` is
   * (migration 0015's mark on a post scheduled before session 22).
   */
  holdBackOnly?: true;
}

/** `evt_` and 32 hex characters of the SHA-256 of the record's event id (else its sequence number and key). */
export function outboundEventId(change: ItemChange): string {
  const source = change.eventId ?? `${change.sequenceNumber}|${change.key.PK}|${change.key.SK}`;
  return `evt_${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The post summary's `version` in the image: raised by every save, so every `post.*` event carries
 * it and a receiver orders two events about one post by it (docs/streams.md, "What a receiver that
 * mirrors posts must do"). Null only for an image without one.
 */
const versionOf = (image: Item): number | null => (typeof image.version === 'number' ? image.version : null);

/**
 * `post.published`'s and `post.updated`'s data. `version` (the summary's, raised by every save) and
 * `updatedAt` (the save's clock) order two events about one post where `occurredAt` (to the second)
 * cannot: a mirror keeps the highest `version` per post id (review 21b L-a).
 */
export function postData(image: Item): OutboundEvent['data'] {
  return {
    id: String(image.id),
    slug: str(image.slug),
    title: str(image.title),
    excerpt: str(image.excerpt),
    authorId: str(image.authorId),
    authorUsername: str(image.authorUsername),
    categoryId: str(image.categoryId),
    tagIds: Array.isArray(image.tagIds) ? image.tagIds.map(String) : [],
    publishedAt: str(image.publishedAt),
    version: versionOf(image),
    updatedAt: str(image.updatedAt),
  };
}

/** A post image's `publishedAt` if it lies ahead of the write that stored it (a scheduled post). */
function aheadOfWrite(image: Item, change: ItemChange): boolean {
  const at = str(image.publishedAt);
  return at !== null && at > (str(image.updatedAt) ?? change.at.toISOString());
}

/** Whether the post was public just before `at`: published with a `publishedAt` not after it. */
const wasPublicAt = (image: Item, at: string): boolean =>
  image.status === 'published' && (str(image.publishedAt) ?? '') <= at;

/**
 * Whether a removed post had been public: published, and its time had come at its last write
 * (`updatedAt`, the request's clock) or by the removal (the record's time, to the second: a post
 * scheduled for later in that same second counts as not public). A REMOVE has no new image, so no
 * clock of the deleting request; the last write's comes first, so that an instance's clock a little
 * ahead of DynamoDB's does not hide a live post's slug.
 */
const wasPublicBeforeRemoval = (image: Item, change: ItemChange): boolean =>
  wasPublicAt(image, str(image.updatedAt) ?? '') || wasPublicAt(image, change.at.toISOString());

/**
 * An edit of a published post (review of session 20, note20 "Events"): a `MODIFY` that raises the
 * summary's `version` (every request's save does; a counter never touches the summary, and the
 * author's display copy, written by the stream processor, leaves `version` alone) with the status
 * and `publishedAt` unchanged (else it is a publication change, mapped above) and the same author,
 * or the author's erasure (session 22): its anonymisation credits the post to `deleted-user` with no
 * `authorUsername`, which a mirror must show too (the event names no erased id: no owner). Title, slug, excerpt, tags, category,
 * image or body (the content item's save raises the summary's version too): any of them.
 */
function isEdit(before: Item | undefined, after: Item, change: ItemChange): boolean {
  if (change.event !== 'MODIFY' || !before) return false;
  const raised =
    typeof before.version === 'number' && typeof after.version === 'number' && after.version > before.version;
  return raised && (before.authorId === after.authorId || after.authorId === DELETED_USER_ID);
}

/**
 * The outbound event a stream record means, if any:
 * - `post.published`: a post summary whose stored status becomes `published` now (or whose schedule
 *   is replaced by publication now);
 * - `post.scheduled`: the same with a `publishedAt` ahead of the write: ids, time and version only,
 *   as the post is not public yet (review 20a L4); its `post.published` is held back until then
 *   (src/events/deferred-publication.ts);
 * - `post.updated`: an edit of a post that is out (published, its time come) before and after it:
 *   the fields of `post.published`, as the edit left them (`isEdit`);
 * - `post.unpublished`: a post summary leaving `published` (back to draft, archived): id, new status,
 *   version, and its slug only if it was public;
 * - `post.deleted`: a post summary removed: its id, the removed summary's version, and its slug only
 *   if it was public (a draft's or a scheduled post's slug never was);
 * - `comment.created`: a comment inserted (its text only when approved at once);
 * - `comment.updated`: a comment an erasure anonymised (credited to `deleted-user`, no
 *   `authorUsername`; no owner, so no event names the erased id): its fields as `comment.created`'s,
 *   and `updatedAt`;
 * - `user.registered`: a user item inserted (id, username, time; never the email or names);
 * - `user.renamed`: a user item whose `username` changed (session 22: a mirror kept the old
 *   `authorUsername` of posts and comments): id, the new username and the user item's `version`.
 *   Nothing else of a user item is announced: sign-ins, counters, role, status, email and the
 *   first and last name (no event carries them) send nothing.
 */
export function outboundEventOf(change: ItemChange, itemType: StreamItemType): MappedEvent | undefined {
  const make = (type: OutboundEventType, data: OutboundEvent['data'], ownerId: unknown): MappedEvent => ({
    event: { id: outboundEventId(change), type, occurredAt: change.at.toISOString(), data },
    ownerId: typeof ownerId === 'string' ? ownerId : undefined,
  });
  const { oldImage: before, newImage: after } = change;
  if (itemType === 'post') {
    if (change.event === 'REMOVE' && before) {
      // Ids only for a post never public (a draft, a scheduled post): its slug was never out (note20).
      const slug = wasPublicBeforeRemoval(before, change) ? str(before.slug) : null;
      // The removed summary's version: its last save's, which a post.deleted outranks (it is final).
      return make('post.deleted', { id: String(before.id), slug, version: versionOf(before) }, undefined);
    }
    if (!after) return undefined;
    if (after.status === 'published') {
      // A new publication, or a schedule moved (rescheduled, or published now instead).
      const isNew = before?.status !== 'published' || before.publishedAt !== after.publishedAt;
      if (!isNew && isHeldBackMark(before, after)) {
        // Migration 0015 marked a post scheduled before session 22: its post.published is held back
        // now (the handler stores only that), while its time is ahead; its post.scheduled went out then.
        const data = { id: String(after.id), publishedAt: str(after.publishedAt), version: versionOf(after) };
        return { ...make('post.scheduled', data, undefined), holdBackOnly: true };
      }
      if (!isNew) {
        // An edit: announced only while the post is out (a scheduled post's content is not public).
        const edited = isEdit(before, after, change) && !aheadOfWrite(after, change);
        const owner: unknown = after.authorId === DELETED_USER_ID ? undefined : after.authorId;
        return edited ? make('post.updated', postData(after), owner) : undefined;
      }
      if (aheadOfWrite(after, change)) {
        const data = { id: String(after.id), publishedAt: str(after.publishedAt), version: versionOf(after) };
        return make('post.scheduled', data, undefined);
      }
      return make('post.published', postData(after), after.authorId);
    }
    if (before?.status === 'published') {
      // Public until this write (the request's clock, as `updatedAt`), or scheduled and never public.
      const slug = wasPublicAt(before, str(after.updatedAt) ?? change.at.toISOString()) ? str(before.slug) : null;
      const data = { id: String(after.id), slug, status: String(after.status), version: versionOf(after) };
      return make('post.unpublished', data, undefined);
    }
    return undefined;
  }
  if (itemType === 'comment' && change.event === 'INSERT' && after) {
    return make('comment.created', commentData(after), after.authorId);
  }
  if (itemType === 'comment' && change.event === 'MODIFY' && isAnonymised(before, after)) {
    // No owner: the erased id is in no event, and the author now is deleted-user.
    return make('comment.updated', { ...commentData(after), updatedAt: str(after.updatedAt) }, undefined);
  }
  if (itemType === 'user' && change.event === 'INSERT' && after) {
    return make(
      'user.registered',
      { id: String(after.id), username: str(after.username), createdAt: str(after.createdAt) },
      after.id,
    );
  }
  if (itemType === 'user' && change.event === 'MODIFY' && isRename(before, after)) {
    return make(
      'user.renamed',
      { id: String(after.id), username: str(after.username), version: versionOf(after) },
      after.id,
    );
  }
  return undefined;
}

/**
 * Migration 0015's mark (`publicationHeldBack`, set to the post's `publishedAt`) newly on a post
 * scheduled at its last write: its `post.published` is to be held back.
 */
const isHeldBackMark = (before: Item | undefined, after: Item): boolean =>
  typeof after[PUBLICATION_HELD_BACK] === 'string' &&
  after[PUBLICATION_HELD_BACK] === after.publishedAt &&
  before?.[PUBLICATION_HELD_BACK] !== after[PUBLICATION_HELD_BACK] &&
  (str(after.updatedAt) ?? '') < String(after.publishedAt);

/** A comment's public fields, its text only while it is approved (`comment.created`, `comment.updated`). */
function commentData(image: Item): OutboundEvent['data'] {
  return {
    id: String(image.id),
    postId: String(image.postId),
    parentId: str(image.parentId),
    authorId: str(image.authorId),
    authorUsername: str(image.authorUsername),
    status: String(image.status),
    content: image.status === 'approved' && image.deleted !== true ? str(image.content) : null,
    createdAt: str(image.createdAt),
  };
}

/**
 * A comment an erasure credited to `deleted-user` (session 23: a mirror of comments never learnt
 * of it): the only change of a comment announced after its creation. Edits, moderation and
 * deletions of comments send nothing yet.
 */
const isAnonymised = (before: Item | undefined, after: Item | undefined): after is Item =>
  typeof before?.authorId === 'string' && before.authorId !== DELETED_USER_ID && after?.authorId === DELETED_USER_ID;

/** A user item's `username` changed (both images hold one): the only change of a user that is announced. */
const isRename = (before: Item | undefined, after: Item | undefined): after is Item =>
  typeof before?.username === 'string' && typeof after?.username === 'string' && before.username !== after.username;

/**
 * The event as it may still be sent once the user it names is erased: a registration or a rename
 * is dropped (it is about nobody else), a post's or comment's event loses its author's id and username.
 */
export function withoutOwner(event: OutboundEvent): OutboundEvent | undefined {
  // About that user alone: dropped (an erasure is announced by nothing that names the erased id).
  if (event.type === 'user.registered' || event.type === 'user.renamed') return undefined;
  return { ...event, data: { ...event.data, authorId: null, authorUsername: null } };
}
