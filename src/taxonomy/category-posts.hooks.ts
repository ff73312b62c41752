import { Injectable } from '@nestjs/common';

export type CategoryPostsMover = (fromCategoryId: string, toCategoryId: string) => Promise<void>;

/**
 * Taxonomy cannot depend on posts (posts depends on taxonomy), so the posts module registers
 * here how to move a category's published posts to another category; deleting a category with
 * posts and `moveTo` uses it. The registry belongs to the app instance.
 */
@Injectable()
export class CategoryPostsHooks {
  private mover: CategoryPostsMover | undefined;

  register(mover: CategoryPostsMover): void {
    this.mover = mover;
  }

  async movePosts(fromCategoryId: string, toCategoryId: string): Promise<void> {
    if (!this.mover) throw new Error('No module moves posts between categories');
    await this.mover(fromCategoryId, toCategoryId);
  }
}
