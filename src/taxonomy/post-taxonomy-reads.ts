import { Injectable } from '@nestjs/common';
import { CategoriesRepository } from './categories.repository.js';
import { TagsRepository } from './tags.repository.js';

/**
 * What the posts module reads of taxonomy: whether the tags and category a post names exist,
 * before its write (the write's own existence checks are `PostLinkWrites`' parts). The read half
 * of taxonomy's seam with posts, so that taxonomy exports no repository. Each read is one call.
 */
@Injectable()
export class PostTaxonomyReads {
  constructor(
    private readonly tags: TagsRepository,
    private readonly categories: CategoriesRepository,
  ) {}

  /** The ids among `tagIds` that name no tag, in their order: one BatchGetItem (none for no ids). */
  async unknownTagIds(tagIds: readonly string[]): Promise<string[]> {
    if (tagIds.length === 0) return [];
    const found = new Set((await this.tags.findMany([...tagIds])).map((tag) => tag.id));
    return tagIds.filter((id) => !found.has(id));
  }

  /** Whether a category has this id: one strongly consistent GetItem. */
  async categoryExists(categoryId: string): Promise<boolean> {
    return (await this.categories.findById(categoryId)) !== undefined;
  }
}
