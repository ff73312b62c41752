import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../identity/auth.decorators.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { OutboundEventPageDto, WebhookDeadLetterPageDto } from './dto/event.dto.js';
import { EventsRepository } from './events.repository.js';

/** Outbound events and their webhook deliveries (role `admin`). */
@ApiTags('events (admin)')
@Roles('admin')
@Controller('admin')
export class AdminEventsController {
  constructor(
    private readonly events: EventsRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * List outbound events (admin)
   *
   * @remarks `post.published`, `post.deleted`, `comment.created` and `user.registered`, newest first, as webhooks
   * receive them; kept 30 days. One index Query per page.
   */
  @Get('events')
  @ApiProblemResponses(400)
  async list(@Query() query: PageQueryDto): Promise<OutboundEventPageDto> {
    return this.events.listEvents(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor, this.clock.now());
  }

  /**
   * List dead-lettered webhook deliveries (admin)
   *
   * @remarks Deliveries given up on after 8 failed attempts, newest first; kept 30 days. One index Query per page.
   */
  @Get('webhooks/dead-letters')
  @ApiProblemResponses(400)
  async deadLetters(@Query() query: PageQueryDto): Promise<WebhookDeadLetterPageDto> {
    const page = await this.events.listDeadLetters(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor, this.clock.now());
    return {
      items: page.items.map((d) => ({
        eventId: d.eventId,
        eventType: d.eventType,
        target: d.target,
        attempts: d.attempts,
        lastError: d.lastError,
        lastStatus: d.lastStatus,
        failedAt: d.failedAt ?? d.nextAttemptAt,
      })),
      nextCursor: page.nextCursor,
    };
  }
}
