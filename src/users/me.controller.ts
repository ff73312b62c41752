import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser } from '../identity/auth.decorators.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import { MeWithProfileDto, ProfileDto } from './dto/user-response.dto.js';
import { ChangeEmailDto, DeleteMeQueryDto, EraseMeDto, UpdateMeDto, UpdateProfileDto } from './dto/update-user.dto.js';
import { type CommentLikeRecordDto, type LikeRecordDto, PersonalDataExportDto } from './dto/personal-data.dto.js';
import type { CommentDto } from '../comments/dto/comment.dto.js';
import type { PostDto } from '../posts/dto/post.dto.js';
import { toSessionDto } from '../identity/sessions/session.mapper.js';
import { UserMapper } from './user.mapper.js';
import type { ProfileChanges } from './users.repository.js';
import { UsersService } from './users.service.js';

/** The signed-in user's own account. */
@ApiTags('me')
@Authenticated()
@Controller('users/me')
export class MeController {
  constructor(private readonly users: UsersService) {}

  /**
   * Get my account
   *
   * @remarks The caller's account with profile. The `ETag` is the account's version: send it as `If-Match` to
   * `PATCH /users/me`.
   */
  @Get()
  async get(@CurrentUser() caller: AuthUser, @Res({ passthrough: true }) res: Response): Promise<MeWithProfileDto> {
    const { user, profile } = await this.users.getOwn(caller.userId);
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toMeWithProfile(user, profile);
  }

  /**
   * Change my names or username
   *
   * @remarks Changes first name, last name and username (nothing else). A taken username is 409; a stale
   * `If-Match` is 412. Changes of the username or name are limited per account (`RENAME_RATE_MAX_PER_ACCOUNT`, 5 an
   * hour by default): 429 `too_many_renames`.
   */
  @Patch()
  @ApiIfMatch()
  @ApiProblemResponses(400, 409, 412, 429)
  async update(
    @CurrentUser() caller: AuthUser,
    @Body() dto: UpdateMeDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MeWithProfileDto> {
    const { user, profile } = await this.users.updateOwn(caller.userId, dto, parseIfMatch(ifMatch));
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toMeWithProfile(user, profile);
  }

  /**
   * Change my email
   *
   * @remarks Moves the account to a new address (the current password is required). The new address must be
   * verified again, and a notice goes to the old one.
   */
  @Post('email')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 409, 429)
  async changeEmail(
    @CurrentUser() caller: AuthUser,
    @Body() dto: ChangeEmailDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MeWithProfileDto> {
    const { user, profile } = await this.users.changeEmail(caller.userId, dto.email, dto.password);
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toMeWithProfile(user, profile);
  }

  /**
   * Get my profile
   *
   * @remarks The caller's whole profile, private fields included. The `ETag` is the profile's version.
   */
  @Get('profile')
  async getProfile(@CurrentUser() caller: AuthUser, @Res({ passthrough: true }) res: Response): Promise<ProfileDto> {
    const { profile } = await this.users.getOwn(caller.userId);
    res.setHeader('ETag', etagOf(profile.version));
    return UserMapper.toProfile(profile);
  }

  /**
   * Change my profile
   *
   * @remarks Changes profile fields; `null` clears one, an absent field stays. A stale `If-Match` is 412.
   */
  @Patch('profile')
  @ApiIfMatch()
  @ApiProblemResponses(400, 412)
  async updateProfile(
    @CurrentUser() caller: AuthUser,
    @Body() dto: UpdateProfileDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProfileDto> {
    const changes: ProfileChanges = {
      bio: dto.bio,
      avatarUrl: dto.avatarUrl,
      website: dto.website,
      location: dto.location,
      dateOfBirth: dto.dateOfBirth,
      phoneNumber: dto.phoneNumber,
      // Plain objects: the DTO instances class-transformer made are not for storage.
      socialLinks: dto.socialLinks?.map(({ network, url }) => ({ network, url })) ?? dto.socialLinks,
      preferences: dto.preferences === null || dto.preferences === undefined ? dto.preferences : { ...dto.preferences },
    };
    const { profile } = await this.users.updateProfile(caller.userId, changes, parseIfMatch(ifMatch));
    res.setHeader('ETag', etagOf(profile.version));
    return UserMapper.toProfile(profile);
  }

  /**
   * Export my personal data
   *
   * @remarks Everything the service holds about the caller, as one JSON document (a data-access or portability
   * request): account, profile, sessions, posts with content, comments, likes, unused emailed links,
   * idempotency keys. Nothing about anyone else.
   */
  @Get('export')
  async exportData(@CurrentUser() caller: AuthUser): Promise<PersonalDataExportDto> {
    const data = await this.users.exportPersonalData(caller.userId);
    return {
      exportedAt: data.exportedAt,
      account: UserMapper.toMe(data.user),
      profile: UserMapper.toProfile(data.profile),
      sessions: data.sessions.map((s) => toSessionDto(s, caller.sessionId)),
      posts: data.posts as PostDto[],
      comments: data.comments as CommentDto[],
      likes: data.likes as LikeRecordDto[],
      commentLikes: data.commentLikes as CommentLikeRecordDto[],
      actionTokens: data.actionTokens,
      idempotencyKeys: data.idempotencyKeys,
      follows: [],
    };
  }

  /**
   * Deactivate or erase my account
   *
   * @remarks `mode=deactivate` (default): the account becomes inactive, every session ends, sign-in is refused.
   * `mode=erase` (body `{ "password": ... }`): the account and its personal data are erased exactly as
   * an admin's hard delete does; posts and comments stay, credited to `deleted-user`. The last active
   * admin can do neither (409 `last_admin`).
   */
  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 403, 409, 429)
  async remove(
    @CurrentUser() caller: AuthUser,
    @Query() query: DeleteMeQueryDto,
    @Body() body: EraseMeDto,
  ): Promise<void> {
    if (query.mode === 'erase') await this.users.eraseSelf(caller.userId, body?.password);
    else await this.users.deactivate(caller.userId);
  }
}
