import { Body, Controller, Get, Headers, Param, Patch, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { CurrentUser, Roles } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import { AdminUserDto, UserPageDto } from './dto/user-response.dto.js';
import { ListUsersQueryDto, SetRoleDto, SetStatusDto } from './dto/update-user.dto.js';
import { UserMapper } from './user.mapper.js';
import { UsersService } from './users.service.js';

/** User administration (role `admin`). */
@ApiTags('users (admin)')
@Roles('admin')
@Controller('users')
export class UsersAdminController {
  constructor(private readonly users: UsersService) {}

  /**
   * List users (admin)
   *
   * @remarks Users newest first, optionally filtered by role and status: per page, one index Query per shard of the
   * listing (8, in parallel), whatever the filter and the number of users. `erasureRequestedAt` shows an account
   * whose erasure is pending.
   */
  @Get()
  @ApiProblemResponses(400)
  async list(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    const page = await this.users.listUsers(
      { role: query.role, status: query.status },
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
    );
    return { items: page.items.map((user) => UserMapper.toAdmin(user)), nextCursor: page.nextCursor };
  }

  /**
   * Set a user's role (admin)
   *
   * @remarks Sets the role. The last active admin cannot be demoted (409 `last_admin`); a stale `If-Match` is
   * 412.
   */
  @Patch(':id/role')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 409, 412)
  async setRole(
    @CurrentUser() admin: AuthUser,
    @Param() { id }: IdParams,
    @Body() dto: SetRoleDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdminUserDto> {
    const user = await this.users.setRole(id, dto.role, parseIfMatch(ifMatch), admin.userId);
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toAdmin(user);
  }

  /**
   * Set a user's status (admin)
   *
   * @remarks `suspended` and `inactive` revoke every session of the user at once. The last active admin cannot
   * be suspended (409 `last_admin`). An account whose erasure is pending (`erasureRequestedAt` set) keeps its
   * status until the erase finishes (409 `erasure_pending`; the status it already has: 200, nothing written).
   */
  @Patch(':id/status')
  @ApiIfMatch()
  @ApiProblemResponses(400, 404, 409, 412)
  async setStatus(
    @CurrentUser() admin: AuthUser,
    @Param() { id }: IdParams,
    @Body() dto: SetStatusDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdminUserDto> {
    const user = await this.users.setStatus(id, dto.status, parseIfMatch(ifMatch), admin.userId);
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toAdmin(user);
  }
}
