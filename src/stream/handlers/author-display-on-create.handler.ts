import { Injectable } from '@nestjs/common';
import type { Comment } from '../../comments/comment.entity.js';
import { CommentsRepository } from '../../comments/comments.repository.js';
import type { PostSummary } from '../../posts/post.entity.js';
import { PostsRepository } from '../../posts/posts.repository.js';
import { authorDisplayOf, sameDisplay } from '../../identity/author-display.js';
import { UsersRepository } from '../../users/users.repository.js';
import { classifyKey } from '../../dynamo/item-types.js';
import type { StreamHandler } from '../stream-handler.js';
import type { ItemChange } from '../../dynamo/stream-record.js';

/**
 * A post or comment created while its author was being renamed: the request copied the name the
 * guard read, and the rename's fan-out may have listed the author's posts and comments before this
 * one existed (or before the index had it). On its `INSERT`, when the author's current version is
 * newer than the copy's and shows another name, the current name is written, on the same
 * conditions as the fan-out (older copy, same author), so a replay or a later rename is unharmed.
 * Costs one consistent read of the user per created post or comment (review finding #9).
 */
@Injectable()
export class AuthorDisplayOnCreateHandler implements StreamHandler {
  readonly name = 'author-display-on-create';
  readonly itemType = ['post', 'comment'] as const;

  constructor(
    private readonly posts: PostsRepository,
    private readonly comments: CommentsRepository,
    private readonly users: UsersRepository,
  ) {}

  async handle(change: ItemChange): Promise<void> {
    const image = change.newImage;
    if (change.event !== 'INSERT' || !image) return;
    const { authorId, authorVersion, authorUsername } = image;
    if (typeof authorId !== 'string' || typeof authorVersion !== 'number' || typeof authorUsername !== 'string') return;
    const author = await this.users.findById(authorId);
    if (!author || author.version <= authorVersion) return;
    const current = authorDisplayOf(author);
    const copied = { authorUsername, authorName: image.authorName as string | undefined, authorVersion };
    if (sameDisplay(current, copied)) return;
    if (classifyKey(change.key).type === 'post') await this.posts.setAuthorDisplay(image as PostSummary, current);
    else await this.comments.setAuthorDisplay(image as Comment, current);
  }
}
