import { Module } from '@nestjs/common';
import { CategoriesController } from './categories.controller.js';
import { CategoriesRepository } from './categories.repository.js';
import { CategoryPostsHooks } from './category-posts.hooks.js';
import { TagsController } from './tags.controller.js';
import { TagsRepository } from './tags.repository.js';
import { TaxonomyService } from './taxonomy.service.js';

/** Hierarchical categories and tags. Exports the repositories whose count changes the posts module puts in its transactions. */
@Module({
  controllers: [CategoriesController, TagsController],
  providers: [CategoriesRepository, TagsRepository, TaxonomyService, CategoryPostsHooks],
  exports: [CategoriesRepository, TagsRepository, TaxonomyService, CategoryPostsHooks],
})
export class TaxonomyModule {}
