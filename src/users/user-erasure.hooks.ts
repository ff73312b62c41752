import { Injectable } from '@nestjs/common';

/** The id that content of a hard-deleted user is attributed to afterwards. */
export const DELETED_USER_ID = 'deleted-user';

export type ErasureHandler = (userId: string) => Promise<void>;

/**
 * Modules that store what a user authored register here how to anonymise it (posts,
 * comments); a hard delete runs every handler before it erases the account. The registry
 * belongs to the app instance, not the process.
 */
@Injectable()
export class UserErasureHooks {
  private readonly handlers: { name: string; handler: ErasureHandler }[] = [];

  register(name: string, handler: ErasureHandler): void {
    this.handlers.push({ name, handler });
  }

  async run(userId: string): Promise<void> {
    for (const { handler } of this.handlers) await handler(userId);
  }
}
