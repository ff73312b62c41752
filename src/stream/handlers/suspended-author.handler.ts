import { Injectable, Logger } from '@nestjs/common';
import { PostsService } from '../../posts/posts.service.js';
import type { UserStatus } from '../../identity/account.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/** The statuses that take an account's content out of what is still to come. */
const WITHDRAWING: readonly unknown[] = ['suspended', 'inactive'] satisfies UserStatus[];

/**
 * A suspended or deactivated account's scheduled posts go back to draft (review 21a M3): when a
 * user item's status changes to `suspended` or `inactive`, each post the account had scheduled at
 * that time (and nobody changed since) is withdrawn as the author's own unpublish would, so nothing
 * the account queued goes out later, neither in the global, tag and category feeds nor by id nor in
 * followers' feeds. The change's time is the user item's `updatedAt`, written with the status, so
 * the outcome does not depend on when the record is handled; a record handled again finds nothing
 * left to withdraw. A reactivation brings nothing back: the posts stay drafts for the author to
 * publish again (docs/data-model.md, "Deleting users").
 */
@Injectable()
export class SuspendedAuthorHandler implements StreamHandler {
  readonly name = 'suspended-author';
  readonly itemType = 'user' as const;
  private readonly logger = new Logger(SuspendedAuthorHandler.name);

  constructor(private readonly posts: PostsService) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event !== 'MODIFY') return;
    const status: unknown = change.newImage?.status;
    if (!WITHDRAWING.includes(status) || change.oldImage?.status === status) return;
    const updatedAt: unknown = change.newImage?.updatedAt;
    const since = typeof updatedAt === 'string' ? updatedAt : change.at.toISOString();
    const withdrawn = await this.posts.withdrawScheduled(userId, since);
    if (withdrawn > 0)
      this.logger.log(`user ${userId} (${String(status)}): ${withdrawn} scheduled post(s) back to draft`);
  }
}
