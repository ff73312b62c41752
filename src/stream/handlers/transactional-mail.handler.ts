import { Injectable, Logger } from '@nestjs/common';
import { ActionLinksService } from '../../identity/action-links/action-links.service.js';
import { SecurityNotices } from '../../mail/security-notices.js';
import { classifyKey } from '../../dynamo/item-types.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * Transactional mail (issue 17 item 5): no request waits on a mail server. A mail request's
 * INSERT gets its link minted and mailed; a user item's MODIFY gets the security notices it calls
 * for (password or email changed). Both are at most once per request or change, replays included.
 */
@Injectable()
export class TransactionalMailHandler implements StreamHandler {
  readonly name = 'transactional-mail';
  readonly itemType = ['mailRequest', 'user'] as const;
  private readonly logger = new Logger(TransactionalMailHandler.name);

  constructor(
    private readonly links: ActionLinksService,
    private readonly notices: SecurityNotices,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (classifyKey(change.key).type === 'user') {
      if (change.event === 'MODIFY') await this.notices.fromUserChange(userId, change.oldImage, change.newImage);
      return;
    }
    if (change.event !== 'INSERT') return;
    const outcome = await this.links.deliver(change.key, change.newImage);
    // The user id only: the request's image holds an address, and nothing here holds a token.
    this.logger.debug(`mail request of user ${userId}: ${outcome}`);
  }
}
