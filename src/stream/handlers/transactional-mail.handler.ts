import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import { ActionLinksService } from '../../identity/action-links/action-links.service.js';
import { noticesOf, SecurityNotices } from '../../mail/security-notices.js';
import { isSelfRecoverable, mayChangeEmail } from '../../identity/account.js';
import { UsersRepository } from '../../users/users.repository.js';
import type { Item } from '../../dynamo/stream-record.js';
import { classifyKey } from '../../dynamo/item-types.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * Transactional mail (issue 17 item 5): no request waits on a mail server. A mail request's
 * INSERT gets its link minted and mailed; a user item's MODIFY gets the security notices it calls
 * for (password or email changed). A failed send fails the record, which is retried (a refusal for
 * good is not); once sent, a mail is not sent again for its request or change, replays included.
 *
 * A record may be handled late (a worker that was down, `db:stream-replay`): before minting a link
 * or sending a notice, the account is read as it is now (one consistent GetItem), and nothing is
 * sent to an account erased since, to an address that is no longer the account's, or a reset link
 * to an account deactivated since (review 4, #3) by an admin (its owner's may come back by a reset). Request paths are unchanged.
 */
@Injectable()
export class TransactionalMailHandler implements StreamHandler {
  readonly name = 'transactional-mail';
  readonly itemType = ['mailRequest', 'user'] as const;
  private readonly logger = new Logger(TransactionalMailHandler.name);

  constructor(
    private readonly links: ActionLinksService,
    private readonly notices: SecurityNotices,
    private readonly users: UsersRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (classifyKey(change.key).type === 'user') {
      if (change.event !== 'MODIFY' || noticesOf(change.oldImage, change.newImage).length === 0) return;
      if (!(await this.users.findById(userId))) return; // erased since: no mail to the erased address
      // The link is minted only while its change is still pending revert (the reservation's check
      // in the mint's transaction): a late record mails no link that cannot work.
      await this.notices.fromUserChange(userId, change.oldImage, change.newImage, (revert) =>
        this.links.mintRevertLink(revert, (onGone) => this.users.pendingRevertCheck(revert, this.clock.now(), onGone)),
      );
      return;
    }
    if (change.event !== 'INSERT') return;
    const outcome = (await this.stillFor(userId, change.newImage))
      ? await this.links.deliver(change.key, change.newImage)
      : 'stale';
    // The user id only: the request's image holds an address, and nothing here holds a token.
    this.logger.debug(`mail request of user ${userId}: ${outcome}`);
  }

  /**
   * Whether a link request still fits the account: it exists, the address is still its own (an
   * email change's: not yet its own, and the account active or pending, review 23 L-1), and a reset
   * is not for an account deactivated since, unless it is self-recoverable (review 22a M1, 23 L-3:
   * the reset is how the owner gets it back). A stand-in without an address (an unknown recipient)
   * is left to `deliver`, which drops it without a read.
   */
  private async stillFor(userId: string, image: Item | undefined): Promise<boolean> {
    if (typeof image?.email !== 'string') return true;
    const user = await this.users.findById(userId);
    if (!user) return false;
    // An email change's confirmation goes to the address the account would move to (review 22a M3).
    if (image.kind === 'email_change') return user.email !== image.email && mayChangeEmail(user);
    if (user.email !== image.email) return false;
    return !(image.kind === 'password_reset' && user.status === 'inactive' && !isSelfRecoverable(user));
  }
}
