import { ApiProperty } from '@nestjs/swagger';
import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
import { OUTBOUND_EVENT_TYPES, type OutboundEventType } from '../outbound-event.js';

/** An outbound event, exactly as webhooks receive it (the JSON body). */
export class OutboundEventDto {
  /** Derived from the stream record: a repeated record yields the same id. @example evt_3f2a9c0d51b84e7aa6c1f09b2d7e4c15 */
  id!: string;
  @ApiProperty({ enum: OUTBOUND_EVENT_TYPES })
  type!: OutboundEventType;
  /** When the change was recorded (ISO 8601, to the second). */
  @ApiTimestamp()
  occurredAt!: string;
  /** Public fields of the post, comment or user (never emails, hashes or tokens). */
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
}

export class OutboundEventPageDto {
  items!: OutboundEventDto[];
  /** Pass it as `cursor` for the next page; null on the last page. */
  nextCursor!: string | null;
}

/** A webhook delivery given up on after 8 failed attempts. */
export class WebhookDeadLetterDto {
  /** `<eventId>.<target>`: what `POST /admin/webhooks/dead-letters/{id}/replay` takes. @example evt_3f2a9c0d51b84e7aa6c1f09b2d7e4c15.9b2d7e4c153f2a9c */
  id!: string;
  eventId!: string;
  eventType!: string;
  /** The webhook, as 16 hex characters of the SHA-256 of its URL (the URL itself may hold a secret). */
  target!: string;
  attempts!: number;
  /** The last attempt's error (`HTTP 500`, `timeout after 5000 ms`...). */
  lastError?: string;
  /** The last attempt's HTTP status, when the receiver answered. */
  lastStatus?: number;
  @ApiTimestamp()
  failedAt!: string;
}

export class WebhookDeadLetterPageDto {
  items!: WebhookDeadLetterDto[];
  /** Pass it as `cursor` for the next page; null on the last page. */
  nextCursor!: string | null;
}

/** A dead letter sent again: pending, due at once, with a fresh count of 8 attempts. */
export class WebhookReplayDto {
  id!: string;
  /** False when another call had already replayed it: this call changed nothing. */
  replayed!: boolean;
}
