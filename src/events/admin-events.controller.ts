import { Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../identity/auth.decorators.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { OutboundEventPageDto, WebhookDeadLetterPageDto, WebhookReplayDto } from './dto/event.dto.js';
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
   * @remarks `post.published`, `post.scheduled`, `post.updated`, `post.unpublished`, `post.deleted`, `comment.created`,
   * `comment.updated`, `user.registered` and `user.renamed` (docs/streams.md gives each one's `data`), newest first, as webhooks receive them; kept 30 days. Per read, one index Query per shard of the listing (8, in parallel). A page short of events past their 30 days (not deleted yet) reads on for the missing count (at most 2 more reads): empty with a `nextCursor` only when 3 reads in a row found none to show, so page on until `nextCursor` is null.
   */
  @Get('events')
  @ApiProblemResponses(400)
  async list(@Query() query: PageQueryDto): Promise<OutboundEventPageDto> {
    return this.events.listEvents(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor, this.clock.now());
  }

  /**
   * List dead-lettered webhook deliveries (admin)
   *
   * @remarks Deliveries given up on after 8 failed attempts, newest first; kept 30 days. One index Query per read; a
   * page short of deliveries past their 30 days (not deleted yet) reads on for the missing count (at most 2 more
   * Queries): empty with a `nextCursor` only when 3 reads in a row found none to show.
   */
  @Get('webhooks/dead-letters')
  @ApiProblemResponses(400)
  async deadLetters(@Query() query: PageQueryDto): Promise<WebhookDeadLetterPageDto> {
    const page = await this.events.listDeadLetters(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor, this.clock.now());
    return {
      items: page.items.map((d) => ({
        id: deadLetterId(d.eventId, d.target),
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
  /**
   * Replay a dead-lettered webhook delivery (admin)
   *
   * @remarks Sends it again: back to pending, due at once, with a fresh 8 attempts (the event's stored body,
   * signed at the new attempt's time). Idempotent: concurrent or repeated calls make one new delivery
   * (`replayed: false` for those that found it already taken back). One conditional UpdateItem (and a
   * GetItem when it is not dead). 404 for an id that names no dead letter.
   */
  @Post('webhooks/dead-letters/:id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(404)
  async replay(@Param('id') id: string): Promise<WebhookReplayDto> {
    const [eventId, target] = DEAD_LETTER_ID.test(id) ? id.split('.') : [];
    const outcome = eventId ? await this.events.replayDead(eventId, target, this.clock.now()) : 'notFound';
    if (outcome === 'notFound') throw notFound(ErrorCode.DeadLetterNotFound, 'No dead-lettered delivery has this id.');
    return { id, replayed: outcome === 'replayed' };
  }
}

/** A dead letter's id in the API: the event id and the target hash. */
export const deadLetterId = (eventId: string, target: string): string => `${eventId}.${target}`;
const DEAD_LETTER_ID = /^evt_[0-9a-f]{32}\.[0-9a-f]{16}$/;
