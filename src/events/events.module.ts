import { Module } from '@nestjs/common';
import { AdminEventsController } from './admin-events.controller.js';
import { EventsRepository } from './events.repository.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * Outbound events (issue 17): stored by the stream processor (`OutboundEventsHandler` in
 * src/stream/handlers), listed for admins, delivered to WEBHOOK_URLS by the `WebhookDispatcher`,
 * which runs wherever the stream worker runs.
 */
@Module({
  controllers: [AdminEventsController],
  providers: [EventsRepository, WebhookSender, WebhookDispatcher],
  exports: [EventsRepository, WebhookDispatcher],
})
export class EventsModule {}
