import { Injectable, Logger } from '@nestjs/common';
import { UsersRepository } from '../../users/users.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * An erased account's remains: the erasing request removed the user item, the admin count and
 * the email and username items in one transaction (what the user authored was anonymised before).
 * This removes the rest of the user's partition (profile, sign-in item, sessions) and the items
 * under GSI3 `OWNED#<id>` (tokens, idempotency records). Idempotent, like the post cascade.
 */
@Injectable()
export class UserCascadeHandler implements StreamHandler {
  readonly name = 'user-cascade';
  readonly itemType = 'user' as const;
  private readonly logger = new Logger(UserCascadeHandler.name);

  constructor(private readonly users: UsersRepository) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event !== 'REMOVE') return;
    const removed = await this.users.deleteAccountRemains(userId);
    this.logger.debug(`user ${userId}: removed ${removed} remaining items`);
  }
}
