import { Controller, Delete, HttpCode, HttpStatus, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdParams } from '../common/dto/id-params.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import type { AuthUser } from '../identity/auth-user.js';
import { CurrentUser, Roles } from '../identity/auth.decorators.js';
import { DeleteUserQueryDto } from '../users/dto/update-user.dto.js';
import { UsersService } from '../users/users.service.js';
import { UserErasureWorkflow } from './user-erasure.workflow.js';

/** User administration that runs across modules (`/users/{id}`, tag `users (admin)`, role `admin`). */
@ApiTags('users (admin)')
@Roles('admin')
@Controller('users')
export class UsersAdminErasureController {
  constructor(
    private readonly users: UsersService,
    private readonly erasure: UserErasureWorkflow,
  ) {}

  /**
   * Deactivate or erase a user (admin)
   *
   * @remarks `mode=soft` (default) deactivates; `mode=hard` erases the account and its personal data (content
   * stays, credited to `deleted-user`).
   */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404, 409)
  async remove(
    @CurrentUser() admin: AuthUser,
    @Param() { id }: IdParams,
    @Query() query: DeleteUserQueryDto,
  ): Promise<void> {
    if (query.mode === 'hard') await this.erasure.erase(id, admin.userId);
    else await this.users.deactivate(id, 'admin', admin.userId);
  }
}
