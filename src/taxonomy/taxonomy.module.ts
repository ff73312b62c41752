import { Module } from '@nestjs/common';
import { CategoriesController } from './categories.controller.js';
import { CategoriesRepository } from './categories.repository.js';
import { PostLinkWrites } from './post-link-writes.js';
import { TagsController } from './tags.controller.js';
import { TagsRepository } from './tags.repository.js';
import { TaxonomyService } from './taxonomy.service.js';

/**
 * Hierarchical categories and tags. Exports the writes it owns in a post's transaction (its
 * links and counts: `PostLinkWrites`); the repositories stay exported for the posts module's reads.
 */
@Module({
  controllers: [CategoriesController, TagsController],
  providers: [CategoriesRepository, TagsRepository, TaxonomyService, PostLinkWrites],
  exports: [CategoriesRepository, TagsRepository, TaxonomyService, PostLinkWrites],
})
export class TaxonomyModule {}
