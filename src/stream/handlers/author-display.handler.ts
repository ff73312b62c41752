import { Injectable, Logger } from '@nestjs/common';
import { CommentsRepository } from '../../comments/comments.repository.js';
import { drainListing } from '../../dynamo/pagination.js';
import { PostsRepository } from '../../posts/posts.repository.js';
import { type AuthorDisplay, authorDisplayOf, sameDisplay } from '../../identity/author-display.js';
import { UsersRepository } from '../../users/users.repository.js';
import type { StreamHandler } from '../stream-handler.js';
import type { Item, ItemChange } from '../../dynamo/stream-record.js';

const PAGE = 100;

const displayOf = (image: Item | undefined): AuthorDisplay | undefined =>
  image && typeof image.username === 'string' && typeof image.version === 'number'
    ? authorDisplayOf(image as { username: string; firstName?: string; lastName?: string; version: number })
    : undefined;

/**
 * The fan-out of an author's display data: when a user item's username or name changes, their
 * post summaries, those posts' feed links and their comments get the new copy. Every write is
 * conditioned on the copy's `authorVersion` being older than the user's version in the record, so
 * a second delivery, a crash midway or an older record arriving late changes nothing, and the
 * order across items does not matter.
 */
@Injectable()
export class AuthorDisplayHandler implements StreamHandler {
  readonly name = 'author-display';
  readonly itemType = 'user' as const;
  private readonly logger = new Logger(AuthorDisplayHandler.name);

  constructor(
    private readonly posts: PostsRepository,
    private readonly comments: CommentsRepository,
    private readonly users: UsersRepository,
  ) {}

  async handle(change: ItemChange, userId: string): Promise<void> {
    if (change.event !== 'MODIFY') return;
    const before = displayOf(change.oldImage);
    const after = displayOf(change.newImage);
    if (!after || (before && sameDisplay(before, after))) return;
    // A rename costs a write per post, link and comment: skip one that a newer rename has already
    // replaced (its own record does the work), and one of a user erased since (anonymised). A
    // newer version that shows the same name (a role change, say) does not skip it.
    const current = await this.users.findById(userId);
    if (!current) return;
    if (current.version > after.authorVersion && !sameDisplay(authorDisplayOf(current), after)) {
      this.logger.debug(`user ${userId}: rename at version ${after.authorVersion} skipped, a newer one is pending`);
      return;
    }
    let posts = 0;
    await drainListing(
      (cursor) => this.posts.ownPosts(userId, undefined, PAGE, cursor),
      async (post) => {
        await this.posts.setAuthorDisplay(post, after);
        posts++;
      },
    );
    let comments = 0;
    await drainListing(
      (cursor) => this.comments.allByAuthor(userId, PAGE, cursor),
      async (comment) => {
        if (await this.comments.setAuthorDisplay(comment, after)) comments++;
      },
    );
    this.logger.debug(`user ${userId}: display data copied to ${posts} posts and ${comments} comments`);
  }
}
