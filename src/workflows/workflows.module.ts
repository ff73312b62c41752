import { Module } from '@nestjs/common';
import { CommentsModule } from '../comments/comments.module.js';
import { FollowsModule } from '../follows/follows.module.js';
import { PostsModule } from '../posts/posts.module.js';
import { TaxonomyModule } from '../taxonomy/taxonomy.module.js';
import { UsersModule } from '../users/users.module.js';
import { CategoryDeletionController } from './category-deletion.controller.js';
import { CategoryDeletionWorkflow } from './category-deletion.workflow.js';
import { MeAccountController } from './me-account.controller.js';
import { PersonalDataExportWorkflow } from './personal-data-export.workflow.js';
import { UserErasureWorkflow } from './user-erasure.workflow.js';
import { UsersAdminErasureController } from './users-admin-erasure.controller.js';

/**
 * Cross-module workflows, above the feature modules they call (docs/architecture.md): erasing a
 * user, exporting their personal data, deleting a category with its posts. A step that a module
 * no longer provides is a compile error here, or a start-up error when its provider is missing.
 */
@Module({
  imports: [UsersModule, PostsModule, CommentsModule, TaxonomyModule, FollowsModule],
  // MeAccountController first: `DELETE /users/me` must win over `DELETE /users/{id}`.
  controllers: [MeAccountController, UsersAdminErasureController, CategoryDeletionController],
  providers: [UserErasureWorkflow, PersonalDataExportWorkflow, CategoryDeletionWorkflow],
  exports: [UserErasureWorkflow],
})
export class WorkflowsModule {}
