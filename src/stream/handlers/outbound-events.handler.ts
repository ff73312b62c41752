import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import { CommentsRepository } from '../../comments/comments.repository.js';
import { EventsRepository } from '../../events/events.repository.js';
import { deferredPublicationOf } from '../../events/deferred-publication.js';
import { type MappedEvent, outboundEventOf, withoutOwner } from '../../events/outbound-event.js';
import { isLive } from '../../posts/post.entity.js';
import { PostsRepository } from '../../posts/posts.repository.js';
import { WebhookDispatcher } from '../../events/webhook-dispatcher.js';
import { classifyKey } from '../../dynamo/item-types.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * Outbound events: the table's stream is the outbox. A record that means an event (a post
 * published, edited or deleted, a comment created or anonymised by an erasure, a user registered) is stored with one pending delivery
 * per webhook, in one transaction conditioned on the event being new (its id comes from the
 * record): a record delivered twice stores and sends nothing more. An event whose user is erased
 * by the time its record is handled is stored without that user's id. Sending is the
 * `WebhookDispatcher`'s job, so a receiver that is down never holds up the shard. A `post.scheduled`
 * also stores the post's `post.published`, held back: its deliveries are due at the post's time, and
 * the dispatcher reads the post then and sends it as it is, or nothing (src/events/deferred-publication.ts).
 *
 * A record may be handled long after its write (a dead letter replayed hours later, a worker that
 * was down): a publication or a new comment is announced only if it is still so when handled, read
 * consistently (one GetItem), so a receiver never gets `post.published` (or `post.scheduled`, or an
 * edit's `post.updated`) for a post deleted or withdrawn since, nor a comment's text after it was rejected or deleted (review-3 #4;
 * `comment.updated`, an erasure's anonymisation of a comment, likewise),
 * nor `post.unpublished` for a post live again since, nor an edit's `post.updated` after a newer save
 * of the post (whose own event stands: review 21b L-a).
 */
@Injectable()
export class OutboundEventsHandler implements StreamHandler {
  readonly name = 'outbound-events';
  readonly itemType = ['post', 'comment', 'user'] as const;

  constructor(
    private readonly events: EventsRepository,
    private readonly dispatcher: WebhookDispatcher,
    private readonly posts: PostsRepository,
    private readonly comments: CommentsRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async handle(change: ItemChange): Promise<void> {
    const found = outboundEventOf(change, classifyKey(change.key).type);
    const mapped = found && (await this.asItIsNow(found, change));
    if (!mapped) return;
    const now = this.clock.now();
    const targets = this.dispatcher.targetIds(mapped.event.type);
    // Migration 0015's mark: the post.scheduled went out long ago; only its post.published is held back now.
    const outcome = mapped.holdBackOnly
      ? 'stored'
      : await this.events.record(mapped.event, mapped.ownerId, targets, now);
    if (outcome === 'ownerGone') {
      // Handled after its user's erasure: the erasure already removed that user's events, so the
      // event is stored without their id (or not at all), never carrying it again.
      const anonymous = withoutOwner(mapped.event);
      if (anonymous) await this.events.record(anonymous, undefined, targets, now);
    }
    // A scheduled post's post.published, held back until its time (its id comes from the post and the
    // time: stored once however often the schedule is handled; nothing for an author erased since).
    const held = deferredPublicationOf(mapped, change.newImage?.authorId);
    if (held) {
      const { event, ownerId } = held.mapped;
      await this.events.record(event, ownerId, this.dispatcher.targetIds(event.type), now, held.deferred);
    }
  }

  /** The event if what it announces still holds (see above); a comment's text only while it is approved. */
  private async asItIsNow(mapped: MappedEvent, change: ItemChange): Promise<MappedEvent | undefined> {
    const { event } = mapped;
    if (event.type === 'post.published' || event.type === 'post.scheduled' || event.type === 'post.updated') {
      const current = await this.posts.findSummary(String(event.data.id));
      if (current?.status !== 'published' || current.publishedAt !== event.data.publishedAt) return undefined;
      // An edit handled after a newer save of the post: that save's own post.updated stands (review 21b L-a).
      return event.type === 'post.updated' && current.version > Number(event.data.version) ? undefined : mapped;
    }
    if (event.type === 'post.unpublished') {
      // Handled late, after the post went live again: its post.published stands, this is stale.
      const current = await this.posts.findSummary(String(event.data.id));
      return current && isLive(current, this.clock.now()) ? undefined : mapped;
    }
    if (event.type === 'comment.created' || event.type === 'comment.updated') {
      const current = await this.comments.findAtPath(String(event.data.postId), String(change.newImage?.path));
      if (!current || current.deleted || current.id !== event.data.id) return undefined;
      if (current.status === 'approved' || event.data.content === null) return mapped;
      return { ...mapped, event: { ...event, data: { ...event.data, status: current.status, content: null } } };
    }
    return mapped;
  }
}
