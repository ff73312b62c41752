import { Injectable } from '@nestjs/common';

/** The id that content of a hard-deleted user is attributed to afterwards. */
export const DELETED_USER_ID = 'deleted-user';

export type ErasureHandler = (userId: string) => Promise<void>;
/** Whether the user authored anything of this module's content (any status). */
export type AuthorshipCheck = (userId: string) => Promise<boolean>;

/**
 * Modules that store what a user authored register here how to anonymise it (posts,
 * comments); a hard delete runs every handler before it erases the account. The registry
 * belongs to the app instance, not the process.
 */
@Injectable()
export class UserErasureHooks {
  private readonly handlers: { name: string; handler: ErasureHandler; authored?: AuthorshipCheck }[] = [];

  /** `authored` tells whether the user has content here: such an account is never replaced. */
  register(name: string, handler: ErasureHandler, authored?: AuthorshipCheck): void {
    this.handlers.push({ name, handler, authored });
  }

  /** True when any module holds content by the user (one small index Query per module). */
  async hasAuthored(userId: string): Promise<boolean> {
    for (const { authored } of this.handlers) if (authored && (await authored(userId))) return true;
    return false;
  }

  async run(userId: string): Promise<void> {
    for (const { handler } of this.handlers) await handler(userId);
  }
}
