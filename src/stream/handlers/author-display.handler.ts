import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommentsRepository } from '../../comments/comments.repository.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { ErrorCode } from '../../common/errors/error-codes.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { Page } from '../../dynamo/pagination.js';
import { PostsRepository } from '../../posts/posts.repository.js';
import { type AuthorDisplay, authorDisplayOf, sameDisplay } from '../../identity/author-display.js';
import { UsersRepository } from '../../users/users.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { Item, ItemChange } from '../../dynamo/stream-record.js';
import {
  type DisplayFanoutJob,
  DisplayFanoutJobsRepository,
  type FanoutProgress,
  fanoutJobOf,
} from '../display-fanout-jobs.repository.js';

const PAGE = 100;

const displayOf = (image: Item | undefined): AuthorDisplay | undefined =>
  image && typeof image.username === 'string' && typeof image.version === 'number'
    ? authorDisplayOf(image as { username: string; firstName?: string; lastName?: string; version: number })
    : undefined;

/**
 * The copy of an author's display data onto their post summaries (with those posts' feed links)
 * and their comments, one bounded run at a time: at most `STREAM_RENAME_ITEMS_PER_RUN` items, then
 * it answers where the next run starts. Every write is conditioned on the copy's `authorVersion`
 * being older than the name's (and on the item still being the author's), so a run repeated, cut
 * short or arriving late changes nothing twice and never puts back an older name.
 */
@Injectable()
export class AuthorDisplayCopy {
  constructor(
    private readonly posts: PostsRepository,
    private readonly comments: CommentsRepository,
    private readonly users: UsersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Whether a newer rename replaced this one (its own record does the work; a newer version that
   * shows the same name, a role change say, does not), or the user is gone (erased: anonymised).
   */
  async superseded(userId: string, display: AuthorDisplay): Promise<boolean> {
    const current = await this.users.findById(userId);
    return !current || (current.version > display.authorVersion && !sameDisplay(authorDisplayOf(current), display));
  }

  /** Copies from `from` on, up to the per-run bound: where the next run starts, or undefined when done. */
  async run(userId: string, display: AuthorDisplay, from: FanoutProgress): Promise<FanoutProgress | undefined> {
    let budget = this.config.streamWorker.renameItemsPerRun;
    let { phase, cursor } = from;
    for (;;) {
      const limit = Math.min(PAGE, budget);
      const page = await this.page(userId, phase, limit, cursor);
      for (const item of page.items) {
        if (phase === 'posts') await this.posts.setAuthorDisplay(item as never, display);
        else await this.comments.setAuthorDisplay(item as never, display);
      }
      budget -= page.items.length;
      cursor = page.nextCursor ?? undefined;
      if (cursor === undefined) {
        if (phase === 'comments') return undefined;
        phase = 'comments';
      }
      if (budget <= 0) return { phase, ...(cursor !== undefined ? { cursor } : {}) };
    }
  }

  private async page(
    userId: string,
    phase: FanoutProgress['phase'],
    limit: number,
    cursor?: string,
  ): Promise<Page<unknown>> {
    const read = (at?: string) =>
      phase === 'posts'
        ? this.posts.ownPosts(userId, undefined, limit, at)
        : this.comments.allByAuthor(userId, limit, at);
    try {
      return await read(cursor);
    } catch (error) {
      // A cursor kept in a job no longer opens after CURSOR_SECRET (or JWT_SECRET) changed: the
      // phase starts over, and the items done already fail their condition (a write unit each).
      if (cursor !== undefined && error instanceof DomainError && error.code === ErrorCode.InvalidCursor) return read();
      throw error;
    }
  }
}

/**
 * The fan-out of an author's display data: when a user item's username or name changes, their
 * post summaries, those posts' feed links and their comments get the new copy. The first run starts
 * from the user's record; a rename with more than one run's worth of items leaves a job item
 * (`DisplayFanoutJobHandler` continues it), so a prolific author's rename never holds a shard or a
 * Lambda invocation for long. The order across items does not matter (see `AuthorDisplayCopy`).
 */
@Injectable()
export class AuthorDisplayHandler implements StreamHandler {
  readonly name = 'author-display';
  readonly itemType = 'user' as const;
  private readonly logger = new Logger(AuthorDisplayHandler.name);

  constructor(
    private readonly copy: AuthorDisplayCopy,
    private readonly jobs: DisplayFanoutJobsRepository,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event !== 'MODIFY') return;
    const before = displayOf(change.oldImage);
    const after = displayOf(change.newImage);
    if (!after || (before && sameDisplay(before, after))) return;
    if (await this.copy.superseded(userId, after)) {
      this.logger.debug(`user ${userId}: rename at version ${after.authorVersion} skipped (newer rename, or erased)`);
      return;
    }
    const next = await this.copy.run(userId, after, { phase: 'posts' });
    if (next) await this.jobs.start(userId, after, next);
  }
}

/** Continues a rename's copy from its job item's record, one bounded run per record (see above). */
@Injectable()
export class DisplayFanoutJobHandler implements StreamHandler {
  readonly name = 'author-display-job';
  readonly itemType = 'displayFanoutJob' as const;

  constructor(
    private readonly copy: AuthorDisplayCopy,
    private readonly jobs: DisplayFanoutJobsRepository,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event === 'REMOVE') return;
    const job: DisplayFanoutJob | undefined = fanoutJobOf(userId, change.newImage);
    if (!job) return;
    if (await this.copy.superseded(userId, job.display)) return this.jobs.finish(job);
    const next = await this.copy.run(userId, job.display, job.progress);
    await (next ? this.jobs.advance(job, next) : this.jobs.finish(job));
  }
}
