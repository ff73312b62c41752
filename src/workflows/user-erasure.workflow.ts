import { Inject, Injectable } from '@nestjs/common';
import { CommentsService } from '../comments/comments.service.js';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { User } from '../identity/account.js';
import { actorOn, AUDIT_LOG, type AuditLog } from '../logging/audit.js';
import { PostsService } from '../posts/posts.service.js';
import { UsersService } from '../users/users.service.js';

/**
 * Erasing a user, across the modules that hold what they did. Each module anonymises its own
 * items (posts and comments stay, credited to `deleted-user`; likes go, with their counts);
 * the account goes last, so a failure midway leaves an account the delete can be run on again.
 * Every step is a method call: a module without its step does not compile.
 */
@Injectable()
export class UserErasureWorkflow {
  constructor(
    private readonly users: UsersService,
    private readonly posts: PostsService,
    private readonly comments: CommentsService,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
  ) {}

  /**
   * Hard delete (`DELETE /users/{id}?mode=hard`): the last active admin is refused before anything
   * moves. `actorId`: the admin's id (the account's own for a self-erasure; none: the operator), for the
   * audit line.
   */
  async erase(userId: string, actorId?: string): Promise<void> {
    await this.users.prepareErasure(userId);
    await this.anonymiseContent(userId);
    await this.users.eraseAccount(userId);
    this.audit.record({ action: 'user.erased', ...actorOn(actorId, userId) });
  }

  /**
   * The `users:finish-erasures` sweep's erase of an account its Scan found marked (review 18d H1):
   * only while a fresh read still carries the marker, and the account's delete only while it still
   * does (conditioned on the version of that read). False, with nothing done, when it no longer
   * does (an admin revived the account since the Scan); 404 when it is gone.
   */
  async finishMarkedErasure(userId: string): Promise<boolean> {
    if (!(await this.users.isMarkedForErasure(userId))) return false;
    await this.anonymiseContent(userId);
    const erased = await this.users.eraseAccount(userId, { onlyMarked: true });
    if (erased) this.audit.record({ action: 'user.erased', ...actorOn(undefined, userId), mode: 'sweep' });
    return erased;
  }

  /** Self-erasure (`DELETE /users/me?mode=erase`): the current password, then exactly the admin's hard delete. */
  async eraseSelf(userId: string, password: string | undefined): Promise<void> {
    await this.users.confirmErasure(userId, password);
    await this.erase(userId, userId);
  }

  /**
   * Erases a stale unverified account so that a new registration can take its email. Never an
   * account that authored anything unless `evenIfAuthored` (one its owner deactivated: its content
   * is anonymised as in any erase); false when it did, or when it changed meanwhile (verified,
   * signed in elsewhere): the account's version guards the erase.
   */
  async replacePendingAccount(holder: User, { evenIfAuthored = false } = {}): Promise<boolean> {
    const authored = async () =>
      (await this.posts.hasAuthored(holder.id)) || (await this.comments.hasAuthored(holder.id));
    if (!evenIfAuthored && (await authored())) return false;
    try {
      await this.anonymiseContent(holder.id);
      await this.users.eraseAsRead(holder);
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.VersionMismatch) return false;
      throw error;
    }
    return true;
  }

  private async anonymiseContent(userId: string): Promise<void> {
    await this.posts.anonymiseAuthor(userId);
    await this.comments.anonymiseAuthor(userId);
  }
}
