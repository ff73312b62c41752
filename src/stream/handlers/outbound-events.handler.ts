import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import { EventsRepository } from '../../events/events.repository.js';
import { outboundEventOf, withoutOwner } from '../../events/outbound-event.js';
import { WebhookDispatcher } from '../../events/webhook-dispatcher.js';
import { classifyKey } from '../../dynamo/item-types.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * Outbound events: the table's stream is the outbox. A record that means an event (a post
 * published or deleted, a comment created, a user registered) is stored with one pending delivery
 * per webhook, in one transaction conditioned on the event being new (its id comes from the
 * record): a record delivered twice stores and sends nothing more. An event whose user is erased
 * by the time its record is handled is stored without that user's id. Sending is the
 * `WebhookDispatcher`'s job, so a receiver that is down never holds up the shard.
 */
@Injectable()
export class OutboundEventsHandler implements StreamHandler {
  readonly name = 'outbound-events';
  readonly itemType = ['post', 'comment', 'user'] as const;

  constructor(
    private readonly events: EventsRepository,
    private readonly dispatcher: WebhookDispatcher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async handle(change: ItemChange): Promise<void> {
    const mapped = outboundEventOf(change, classifyKey(change.key).type);
    if (!mapped) return;
    const now = this.clock.now();
    const targets = this.dispatcher.targetIds(mapped.event.type);
    const outcome = await this.events.record(mapped.event, mapped.ownerId, targets, now);
    if (outcome !== 'ownerGone') return;
    // Handled after its user's erasure: the erasure already removed that user's events, so the
    // event is stored without their id (or not at all), never carrying it again.
    const anonymous = withoutOwner(mapped.event);
    if (anonymous) await this.events.record(anonymous, undefined, targets, now);
  }
}
