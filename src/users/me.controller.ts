import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser } from '../identity/auth.decorators.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../http/etag.js';
import { EmailChangeRequestedDto, MeWithProfileDto, ProfileDto } from './dto/user-response.dto.js';
import { ChangeEmailDto, UpdateMeDto, UpdateProfileDto } from './dto/update-user.dto.js';
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
   * @remarks Asks to move the account to a new address (the current password is required): 202, and a
   * confirmation link is mailed to the new address. Nothing changes until that link is used
   * (`POST /auth/email-change/confirm`): the account keeps its address for sign-in, resets and mail, and the
   * new address is not held (its owner may still register it). Using the link moves the account there,
   * verified, and a notice goes to the old address; when the old address was verified, the notice carries an
   * "it wasn't me" link (`POST /auth/email-change/revert`) that can undo the change for
   * `EMAIL_CHANGE_REVERT_TTL_HOURS`, and until then the old address stays reserved. The link dies with a
   * password change or reset, another completed change or a revert. The account's own address is 400; a taken
   * or reserved address (also one this account left, while its link is pending) is 409 `email_taken`; a change
   * while 10 earlier changes can still be undone is 409 `too_many_email_changes`. Requests are limited per client
   * IP (`EMAIL_CHANGE_RATE_MAX_PER_IP`, 429) and per account with the other password checks; a new address that
   * already got `EMAIL_CHANGE_RATE_MAX_PER_EMAIL` confirmation mails this window (from any account) gets no
   * further one until the window ends, though the answer is the same 202.
   */
  @Post('email')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(400, 409, 429)
  async changeEmail(
    @CurrentUser() caller: AuthUser,
    @Body() dto: ChangeEmailDto,
    @Req() req: Request,
  ): Promise<EmailChangeRequestedDto> {
    return this.users.requestEmailChange(caller.userId, dto.email, dto.password, req.ip);
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
}
