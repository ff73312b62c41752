import { Module } from '@nestjs/common';
import { CategoriesController } from './categories.controller.js';
import { CategoriesRepository } from './categories.repository.js';
import { PostLinkWrites } from './post-link-writes.js';
import { PostTaxonomyReads } from './post-taxonomy-reads.js';
import { TagsController } from './tags.controller.js';
import { TagsRepository } from './tags.repository.js';
import { TaxonomyService } from './taxonomy.service.js';

/**
 * Hierarchical categories and tags. Exports the writes it owns in a post's transaction (its
 * links and counts: `PostLinkWrites`) and what posts read of it (`PostTaxonomyReads`), not its
 * repositories.
 */
@Module({
  controllers: [CategoriesController, TagsController],
  providers: [CategoriesRepository, TagsRepository, TaxonomyService, PostLinkWrites, PostTaxonomyReads],
  exports: [TaxonomyService, PostLinkWrites, PostTaxonomyReads],
})
export class TaxonomyModule {}
