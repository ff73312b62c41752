import { Inject, Injectable } from '@nestjs/common';
import type { AuthUser } from '../identity/auth-user.js';
import { DELETED_USER_ID, isStaff } from '../identity/account.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { DomainError, exportTooLarge, forbidden, notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { assertVersion } from '../common/errors/version-mismatch.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import type { Page } from '../dynamo/pagination.js';
import type { ExportContentBudget } from '../common/export/content-budget.js';
import { isLive } from '../posts/post.entity.js';
import { PostWriteHeat } from '../posts/like-heat.js';
import { type PublicationState, PostsRepository } from '../posts/posts.repository.js';
import { allPagesUpTo, drainListing, filledPage } from '../dynamo/pagination.js';
import { CommentMapper } from './comment.mapper.js';
import { type Comment, type CommentStatus } from './comment.entity.js';
import {
  assertPostAuthorMayModerate,
  canReplyTo,
  canSeeComment,
  commentNotFound,
  initialCommentStatus,
  placeComment,
} from './comment-rules.js';
import { canSeePost, postNotFound } from '../posts/post-rules.js';
import { CommentsRepository, unknownParent } from './comments.repository.js';
import type { CommentDto } from './dto/comment.dto.js';
import { NO_AUTHOR_DISPLAY } from '../identity/author-display.js';

/** A write refused because the post is gone: the stream processor removes what is under it. */
const skipOnDeletedPost = async (write: Promise<unknown>): Promise<void> => {
  try {
    await write;
  } catch (error) {
    if (!(error instanceof DomainError && error.code === ErrorCode.PostNotFound)) throw error;
  }
};

@Injectable()
export class CommentsService {
  constructor(
    private readonly comments: CommentsRepository,
    private readonly posts: PostsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    /** Posts commented on more than COMMENT_DIRECT_MAX_PER_SECOND times in the last second here (issue 15). */
    private readonly heat: PostWriteHeat,
  ) {}

  /** Whether the user authored any comment, in any status (one small index Query). */
  async hasAuthored(userId: string): Promise<boolean> {
    return (await this.comments.allByAuthor(userId, 1)).items.length > 0;
  }

  /** The user's comments in every status (their personal-data export). */
  async commentsForExport(userId: string, max: number, budget: ExportContentBudget): Promise<CommentDto[]> {
    const comments = await allPagesUpTo(
      async (cursor) => {
        const page = await this.comments.allByAuthor(userId, 100, cursor);
        // Spent page by page: 10,000 comments of 10,000 characters are allowed (review 5, #1).
        for (const comment of page.items) if (comment.content) budget.spend(comment.content);
        return page;
      },
      max,
      () => exportTooLarge('comments', max),
    );
    return comments.map((comment) => CommentMapper.toDto(comment));
  }

  /** The comments the user likes (their personal-data export). */
  commentLikesForExport(userId: string, max: number): Promise<{ postId: string; commentId: string }[]> {
    return allPagesUpTo(
      (cursor) => this.comments.likesBy(userId, 100, cursor),
      max,
      () => exportTooLarge('comment likes', max),
    );
  }

  /**
   * A hard-deleted user's comments stay, credited to `deleted-user`; their comment likes are
   * removed, with the counts (docs/data-model.md).
   */
  async anonymiseAuthor(userId: string): Promise<void> {
    await drainListing(
      (cursor) => this.comments.likesBy(userId, 100, cursor),
      async (like) => {
        const comment = await this.comments.findById(like.postId, like.commentId);
        if (comment) await skipOnDeletedPost(this.comments.removeLike(comment, userId));
      },
    );
    await drainListing(
      (cursor) => this.comments.allByAuthor(userId, 100, cursor),
      async (listed) => {
        // The index may lag the table: read the comment itself, and skip what is done already.
        const comment = await this.comments.findById(listed.postId, listed.id);
        if (!comment || comment.authorId !== userId) return;
        await skipOnDeletedPost(
          this.comments.save(comment, {
            ...comment,
            authorId: DELETED_USER_ID,
            ...NO_AUTHOR_DISPLAY,
            updatedAt: this.clock.now().toISOString(),
          }),
        );
      },
      // A pointer left without its comment still names the user on GSI6: it goes too.
      async (page) => {
        for (const orphan of page.orphanPointers) await this.comments.removeOrphanPointer(orphan);
      },
    );
  }

  /** Comments on a live post; approved at once or pending, by the configured policy (on both APIs). */
  async create(postId: string, author: AuthUser, content: string, parentId?: string): Promise<Comment> {
    const post = await this.posts.findSummary(postId);
    if (!post || !isLive(post, this.clock.now())) throw notFound(ErrorCode.PostNotFound, 'No such post.');
    const now = this.clock.now().toISOString();
    const id = this.ids.next();
    let parent: Comment | undefined;
    if (parentId) {
      parent = await this.comments.findById(postId, parentId);
      // Missing, deleted and invisible parents get one answer, so a reply cannot probe for
      // comments the replier may not see (pending, spam, rejected ones of others).
      if (!canReplyTo(parent, author)) throw unknownParent(parentId);
    }
    // A hot post's comment counts on a comment counter shard, outside the post's partition, and
    // shows in `commentCount` once the stream folds it; any other at once (src/posts/comment-shards.ts).
    // A hot post's reply also counts on its parent's pointer, not on the parent (issue 15, review 13
    // M-b1): then the post's partition takes the reply alone. Not a reply to a comment without an
    // author (a legacy or imported one): its pointer carries no GSI6 keys, which is what says the
    // parent is live there, so it counts on the parent, as a quiet post's (review 14, L-B2).
    const hot = this.heat.comment(postId, this.clock.now());
    const placement = placeComment(parent, now, id, this.config.comments.maxDepth);
    const onPointer = hot && placement.parentId !== undefined && parent?.authorId !== undefined;
    const comment: Comment = {
      id,
      postId,
      ...placement,
      ...(onPointer ? { countedOnParentPointer: true } : {}),
      authorId: author.userId,
      content,
      status: initialCommentStatus(this.config.comments.autoApprove, author),
      deleted: false,
      likeCount: 0,
      createdAt: now,
      updatedAt: now,
      version: 1,
      ...author.display,
    };
    await this.comments.create(comment, parentId, hot);
    return comment;
  }

  /**
   * One page of the thread, as the viewer may see it. The Query's filter (pending, rejected and
   * spam comments of others) runs after its `Limit`, so a page short by hidden comments is filled
   * from its cursor (`filledPage`: at most 2 more Queries of the missing count).
   */
  async thread(postId: string, viewer: AuthUser | undefined, limit: number, cursor?: string): Promise<Page<Comment>> {
    const post = await this.posts.findSummary(postId);
    if (!post || !canSeePost(post, viewer, this.clock.now())) throw postNotFound();
    const reader = { userId: viewer?.userId, staff: isStaff(viewer) };
    return filledPage(limit, cursor, (missing, from) => this.comments.thread(postId, reader, missing, from));
  }

  /**
   * The author edits the content (If-Match); `editedAt` records it. An edit is moderated as a new
   * comment would be: an approved comment whose author the policy would not approve at once now
   * goes back to `pending` (the queue; out of `commentCount`), so approved text cannot be swapped
   * for anything (review 19a, M1). Other statuses stay: an edit never approves.
   */
  async edit(postId: string, commentId: string, viewer: AuthUser, content: string, ifMatch?: number): Promise<Comment> {
    const comment = await this.visible(postId, commentId, viewer);
    if (comment.authorId !== viewer.userId)
      throw forbidden(ErrorCode.NotCommentAuthor, 'Only the author may edit a comment.');
    assertVersion(ifMatch, comment.version);
    const now = this.clock.now().toISOString();
    const status =
      comment.status === 'approved' ? initialCommentStatus(this.config.comments.autoApprove, viewer) : comment.status;
    await this.comments.save(comment, { ...comment, content, status, editedAt: now, updatedAt: now });
    return (await this.comments.findById(postId, commentId))!;
  }

  /**
   * The author, the post's author, moderators and admins may delete. A comment with replies
   * stays as a tombstone (no content, no author) so the thread keeps its shape.
   */
  async delete(postId: string, commentId: string, viewer: AuthUser): Promise<void> {
    const comment = await this.visible(postId, commentId, viewer);
    // The post is read only when neither authorship nor role already decides.
    const allowed =
      comment.authorId === viewer.userId ||
      isStaff(viewer) ||
      (await this.posts.findSummary(postId))?.authorId === viewer.userId;
    if (!allowed)
      throw forbidden(ErrorCode.NotCommentAuthor, 'Only the author, the post author or staff may delete a comment.');
    // The delete is conditioned on the version and on no reply having arrived; when a reply or
    // an edit got in first, read again and decide again (a tombstone now, most likely).
    let current = comment;
    for (let attempt = 1; ; attempt++) {
      try {
        if ((current.replyCount ?? 0) > 0 || (await this.comments.hasReplies(current))) {
          await this.comments.save(current, {
            ...current,
            deleted: true,
            content: undefined,
            authorId: undefined,
            ...NO_AUTHOR_DISPLAY,
            updatedAt: this.clock.now().toISOString(),
          });
        } else {
          await this.comments.delete(current);
        }
        return;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCode.VersionMismatch) || attempt >= 5) throw error;
        const reread = await this.comments.findById(postId, commentId);
        if (!reread || reread.deleted) return; // deleted meanwhile: the outcome the caller asked for
        current = reread;
      }
    }
  }

  /**
   * Moderators and admins set any status; the comment leaves the queue when it is no longer
   * pending. A post's author may hide (`rejected`) an approved comment on their own post, and
   * nothing else: restoring, approving and marking spam stay with staff, so an author cannot undo
   * a moderator's decision or see comments they could not see before.
   */
  async moderate(postId: string, commentId: string, status: CommentStatus, viewer: AuthUser): Promise<Comment> {
    const comment = await this.comments.findById(postId, commentId);
    if (!comment) throw commentNotFound();
    if (!isStaff(viewer)) {
      assertPostAuthorMayModerate(comment, status, viewer, (await this.posts.findSummary(postId))?.authorId);
    }
    if (comment.status !== status) {
      await this.comments.save(comment, { ...comment, status, updatedAt: this.clock.now().toISOString() });
    }
    return (await this.comments.findById(postId, commentId))!;
  }

  /**
   * The moderation queue: staff see every post, so only comments on deleted posts are dropped (the
   * stream processor removes them later). A page short by such comments is filled from its cursor
   * (`filledPage`: at most 2 more reads of the missing count, each the queue's 8 shard Queries and
   * one BatchGetItem of their posts' summaries).
   */
  pending(limit: number, cursor?: string): Promise<Page<Comment>> {
    return filledPage(limit, cursor, async (missing, from) =>
      this.onPosts(await this.comments.pending(missing, from), () => true),
    );
  }

  /**
   * A user's approved comments on posts that are out: a comment on a post withdrawn since
   * (unpublished, archived, rescheduled) leaves the list while the post is withdrawn and comes back
   * when it is out again, as likes do from the favourites lists (review 19a L1). The post's thread
   * is 404 to the public meanwhile; its comments must not stay readable here. A page short of
   * `limit` by such comments is filled from its cursor (`filledPage`: at most 2 more reads, each of
   * the missing count), so a page comes back empty with a cursor only when 3 reads in a row found
   * nothing to show.
   */
  async byAuthor(userId: string, limit: number, cursor?: string): Promise<Page<Comment>> {
    const now = this.clock.now();
    return filledPage(limit, cursor, async (missing, from) =>
      this.onPosts(await this.comments.byAuthor(userId, missing, from), (post) => isLive(post, now)),
    );
  }

  /**
   * Keeps the comments whose post exists and passes `keep`. A post's delete removes its summary at
   * once, but its comments leave these indexes only when the stream processor deletes them
   * (seconds later, or never where no worker runs): until then they must not be listed. One
   * BatchGetItem of the page's posts' summaries, whatever `keep` asks of them; a page may come back
   * shorter than `limit`, even empty, with its cursor unchanged: the next page goes on after it.
   */
  private async onPosts(page: Page<Comment>, keep: (post: PublicationState) => boolean): Promise<Page<Comment>> {
    if (page.items.length === 0) return page;
    const posts = await this.posts.publicationStates([...new Set(page.items.map((comment) => comment.postId))]);
    return {
      ...page,
      items: page.items.filter((comment) => {
        const post = posts.get(comment.postId);
        return post !== undefined && keep(post);
      }),
    };
  }

  async setLike(
    postId: string,
    commentId: string,
    viewer: AuthUser,
    liked: boolean,
  ): Promise<{ liked: boolean; likeCount: number }> {
    const comment = await this.visible(postId, commentId, viewer);
    if (comment.deleted || comment.status !== 'approved') throw commentNotFound();
    // The post as the thread checks it (canSeePost), inside the like's transaction: a withdrawn
    // post's comments are liked by nobody the thread hides them from (review 20b L3).
    const now = this.clock.now().toISOString();
    if (liked) await this.comments.addLike(comment, viewer, now);
    else await this.comments.removeLike(comment, viewer.userId, { viewer, now });
    return { liked, likeCount: (await this.comments.findById(postId, commentId))?.likeCount ?? 0 };
  }

  /** A comment the viewer may see (approved, their own, or any for staff); 404 otherwise. */
  private async visible(postId: string, commentId: string, viewer: AuthUser): Promise<Comment> {
    const comment = await this.comments.findById(postId, commentId);
    if (!comment || !canSeeComment(comment, viewer)) throw commentNotFound();
    return comment;
  }
}
