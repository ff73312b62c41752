import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error.js';
import { domainErrorOf } from '../http/problem-details.filter.js';
import { PostsService } from '../posts/posts.service.js';
import { TaxonomyService } from '../taxonomy/taxonomy.service.js';

/**
 * A failure of a deletion after some of its category's posts moved: the same answer (status and
 * code), its detail saying where they went, and `movedPostsTo` (they stay there; the deletion did
 * not happen). A database failure (503, with its `Retry-After`) says so too, as the other refusals do.
 */
function afterPostsMoved(error: DomainError, moveTo: string, moved: number): DomainError {
  return new DomainError(
    error.status,
    error.code,
    `${error.message} The category was not deleted, but ${moved} of its published posts had moved to category ` +
      `${moveTo} before this (each in its own write) and stay there; retrying the deletion moves any left.`,
    { ...error.extras, movedPostsTo: moveTo },
  );
}

/**
 * Deleting a category, with its posts: taxonomy checks the deletion (before anything moves: a
 * refusal on the tree as read moves nothing), the posts module moves each published post to
 * `moveTo` (the post's links and the categories' counts change in each post's own transaction),
 * then taxonomy deletes the category, on condition that its count is zero by then and the tree
 * unchanged since its second check. Taxonomy cannot call posts itself: posts depend on taxonomy.
 *
 * The moves are not undone when a later step fails (a tree change that raced them: moveTo moved
 * under the deleted category, deleted, or too deep by then, any other tree change, a post published
 * into the category meanwhile, or the database failing: a 503): the answer keeps its status and
 * code, and its detail and `movedPostsTo` say where the posts that moved went (docs/data-model.md,
 * "Category").
 */
@Injectable()
export class CategoryDeletionWorkflow {
  constructor(
    private readonly taxonomy: TaxonomyService,
    private readonly posts: PostsService,
  ) {}

  async delete(categoryId: string, moveTo?: string): Promise<void> {
    const deletion = await this.taxonomy.categoryDeletion(categoryId, moveTo);
    if (!deletion.moveTo || deletion.category.postCount === 0) return this.taxonomy.deleteCategory(deletion);
    const progress = { moved: 0 };
    try {
      await this.posts.moveCategoryPosts(categoryId, deletion.moveTo, progress);
      await this.taxonomy.deleteCategory(deletion);
    } catch (error) {
      const domain = progress.moved > 0 ? domainErrorOf(error) : undefined;
      throw domain ? afterPostsMoved(domain, deletion.moveTo, progress.moved) : error;
    }
  }
}
