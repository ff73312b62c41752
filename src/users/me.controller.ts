import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Patch, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/auth.decorators.js';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import { ApiIfMatch, etagOf, parseIfMatch } from '../common/http/etag.js';
import { MeWithProfileDto, ProfileDto } from './dto/user-response.dto.js';
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

  /** The caller with profile. The `ETag` is the account's version. */
  @Get()
  async get(@CurrentUser() caller: AuthUser, @Res({ passthrough: true }) res: Response): Promise<MeWithProfileDto> {
    const { user, profile } = await this.users.getOwn(caller.userId);
    res.setHeader('ETag', etagOf(user.version));
    return UserMapper.toMeWithProfile(user, profile);
  }

  /** Changes first name, last name and username (nothing else). */
  @Patch()
  @ApiIfMatch()
  @ApiProblemResponses(400, 409, 412)
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

  /** Moves the account to a new email (password required); the new address must be verified. */
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

  /** The caller's whole profile. The `ETag` is the profile's version. */
  @Get('profile')
  async getProfile(@CurrentUser() caller: AuthUser, @Res({ passthrough: true }) res: Response): Promise<ProfileDto> {
    const { profile } = await this.users.getOwn(caller.userId);
    res.setHeader('ETag', etagOf(profile.version));
    return UserMapper.toProfile(profile);
  }

  /** Changes profile fields; `null` clears one. */
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

  /** Deactivates the account (soft delete): every session ends and sign-in is refused. */
  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(409)
  async deactivate(@CurrentUser() caller: AuthUser): Promise<void> {
    await this.users.deactivate(caller.userId);
  }
}
