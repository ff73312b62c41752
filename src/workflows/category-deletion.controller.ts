import { Controller, Delete, HttpCode, HttpStatus, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdParams } from '../common/dto/id-params.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { Roles } from '../identity/auth.decorators.js';
import { DeleteCategoryQueryDto } from '../taxonomy/dto/taxonomy.dto.js';
import { CategoryDeletionWorkflow } from './category-deletion.workflow.js';

/** Deleting a category with its posts (`/categories/{id}`, tag `categories`). */
@ApiTags('categories')
@Controller('categories')
export class CategoryDeletionController {
  constructor(private readonly deletion: CategoryDeletionWorkflow) {}

  /**
   * Delete a category (admin)
   *
   * @remarks Deletes a category. With children or posts, `moveTo` names the category that takes them over (409
   * `category_not_empty` without it). Every check runs before a post moves: a refusal then moves nothing. The
   * published posts move one by one, then the category goes; when that last step fails after posts moved (another
   * tree change or a new post in the category meanwhile: 409, 412 or 422), the moved posts stay in `moveTo`, and
   * the problem's detail and `movedPostsTo` say so; a retry moves what is left.
   */
  @Roles('admin')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 409, 412, 422)
  async remove(@Param() { id }: IdParams, @Query() query: DeleteCategoryQueryDto): Promise<void> {
    await this.deletion.delete(id, query.moveTo);
  }
}
