import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { forbidden } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, ErasureRetry } from '../identity/auth.decorators.js';
import { toSessionDto } from '../identity/sessions/session.mapper.js';
import { DeleteMeQueryDto, EraseMeDto } from '../users/dto/update-user.dto.js';
import { UserMapper } from '../users/user.mapper.js';
import { UsersService } from '../users/users.service.js';
import { PersonalDataExportDto } from './dto/personal-data.dto.js';
import { PersonalDataExportWorkflow } from './personal-data-export.workflow.js';
import { UserErasureWorkflow } from './user-erasure.workflow.js';

/** The routes of the caller's own account that run across modules (`/users/me`, tag `me`). */
@ApiTags('me')
@Authenticated()
@Controller('users/me')
export class MeAccountController {
  constructor(
    private readonly users: UsersService,
    private readonly erasure: UserErasureWorkflow,
    private readonly personalData: PersonalDataExportWorkflow,
  ) {}

  /**
   * Export my personal data
   *
   * @remarks Everything the service holds about the caller, as one JSON document (a data-access or portability
   * request): account, profile, sessions, posts with content, comments, likes, unused emailed links,
   * idempotency keys, whom the caller follows and who follows them (id and username, as the public listings
   * show them). Nothing else about anyone else. At most `EXPORT_RATE_MAX_PER_ACCOUNT` exports per window
   * (default 5 an hour; 429), and at most `EXPORT_MAX_ITEMS` items (default 10,000) per collection: past it
   * the request is 422 `export_too_large`.
   */
  @Get('export')
  @ApiProblemResponses(422, 429)
  async exportData(@CurrentUser() caller: AuthUser): Promise<PersonalDataExportDto> {
    const data = await this.personalData.export(caller.userId);
    return {
      exportedAt: data.exportedAt,
      account: UserMapper.toMe(data.user),
      profile: UserMapper.toProfile(data.profile),
      sessions: data.sessions.map((s) => toSessionDto(s, caller.sessionId)),
      posts: data.posts,
      comments: data.comments,
      likes: data.likes,
      commentLikes: data.commentLikes,
      actionTokens: data.actionTokens,
      idempotencyKeys: data.idempotencyKeys,
      follows: data.follows,
    };
  }

  /**
   * Deactivate or erase my account
   *
   * @remarks Both modes need the current password in the body, `{ "password": ... }` (400 `password_required`
   * without it, 403 `wrong_password`; the checks count towards `PASSWORD_CHECK_RATE_*`, 429 past it).
   * `mode=deactivate` (default): the account becomes inactive, every session ends, sign-in is refused, and the
   * account's address is mailed a notice; its owner gets it back with a password reset by mail
   * (`POST /auth/password-reset/request`), which makes it active again.
   * `mode=erase`: the account and its personal data are erased exactly as
   * an admin's hard delete does; posts and comments stay, credited to `deleted-user`. The last active
   * admin can do neither (409 `last_admin`). The erase suspends the account first; should it fail midway
   * (a timeout, a throttle), the owner can sign in again and repeat it: until the erase finishes, sign-in and
   * refresh work, and so do `POST /auth/logout`, `/auth/logout-all`, `GET /auth/sessions` and
   * `DELETE /auth/sessions/{id}`, but every other route, and
   * `mode=deactivate`, answer 403 `account_suspended`. An account an admin had suspended stays shut.
   */
  @Delete()
  @ErasureRetry()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 403, 409, 429)
  async remove(
    @CurrentUser() caller: AuthUser,
    @Query() query: DeleteMeQueryDto,
    @Body() body: EraseMeDto,
  ): Promise<void> {
    if (query.mode === 'erase') await this.erasure.eraseSelf(caller.userId, body?.password);
    // `@ErasureRetry()` lets an account whose erasure is pending in for the erase only.
    else if (caller.status === 'suspended') throw forbidden(ErrorCode.AccountSuspended, 'The account is suspended.');
    else await this.users.deactivateSelf(caller.userId, body?.password);
  }
}
