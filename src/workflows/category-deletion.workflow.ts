import { Injectable } from '@nestjs/common';
import { PostsService } from '../posts/posts.service.js';
import { TaxonomyService } from '../taxonomy/taxonomy.service.js';

/**
 * Deleting a category, with its posts: taxonomy checks the deletion, the posts module moves
 * each published post to `moveTo` (the post's links and the categories' counts change in each
 * post's own transaction), then taxonomy deletes the category, on condition that its count is
 * zero by then. Taxonomy cannot call posts itself: posts depend on taxonomy.
 */
@Injectable()
export class CategoryDeletionWorkflow {
  constructor(
    private readonly taxonomy: TaxonomyService,
    private readonly posts: PostsService,
  ) {}

  async delete(categoryId: string, moveTo?: string): Promise<void> {
    const deletion = await this.taxonomy.categoryDeletion(categoryId, moveTo);
    if (deletion.moveTo && deletion.category.postCount > 0) {
      await this.posts.moveCategoryPosts(categoryId, deletion.moveTo);
    }
    await this.taxonomy.deleteCategory(deletion);
  }
}
