import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Req, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { CurrentUser } from '../identity/auth.decorators.js';
import {
  ConduitAuthenticated,
  ConduitContentWrite,
  ConduitOptionalAuth,
  ConduitPublic,
  type ConduitRequest,
} from './conduit-auth.js';
import { ConduitErrorFilter, ConduitErrors } from './conduit-errors.filter.js';
import { ConduitService } from './conduit.service.js';
import {
  ConduitLoginDto,
  ConduitProfileResponseDto,
  ConduitRegisterDto,
  ConduitTagsResponseDto,
  ConduitUpdateUserDto,
  ConduitUsernameParams,
  ConduitUserResponseDto,
} from './dto/conduit.dto.js';

const clientOf = (req: Request) => ({ ip: req.ip, userAgent: req.get('user-agent') });

/** The Conduit users, profiles and tags (docs/conduit.md). */
@ApiTags('conduit')
@UseFilters(ConduitErrorFilter)
@Controller('api')
export class ConduitUsersController {
  constructor(private readonly conduit: ConduitService) {}

  /**
   * Conduit: register
   *
   * @remarks RealWorld registration: `{user: {username, email, password}}`. Signs in at once; the `token`
   * lives as long as its session. A taken email or username is 422.
   */
  @ConduitPublic()
  @Post('users')
  @HttpCode(HttpStatus.CREATED)
  @ConduitErrors(422, 429, 503)
  async register(@Body() dto: ConduitRegisterDto, @Req() req: Request): Promise<ConduitUserResponseDto> {
    return { user: await this.conduit.register(dto.user, clientOf(req)) };
  }

  /**
   * Conduit: sign in
   *
   * @remarks RealWorld sign-in: `{user: {email, password}}`. Wrong credentials are 401; repeated failures 429.
   */
  @ConduitPublic()
  @Post('users/login')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(401, 403, 422, 429, 503)
  async login(@Body() dto: ConduitLoginDto, @Req() req: Request): Promise<ConduitUserResponseDto> {
    return { user: await this.conduit.login(dto.user.email, dto.user.password, clientOf(req)) };
  }

  /**
   * Conduit: current user
   *
   * @remarks The signed-in user with the token that was sent.
   */
  @ConduitAuthenticated()
  @Get('user')
  @ConduitErrors(503)
  async current(@CurrentUser() viewer: AuthUser, @Req() req: ConduitRequest): Promise<ConduitUserResponseDto> {
    return { user: await this.conduit.currentUser(viewer, req.conduitToken!) };
  }

  /**
   * Conduit: update user
   *
   * @remarks Changes username, bio and image. The email may be sent unchanged; changing it, or the password, is
   * 422 naming the native endpoint (they need the current password).
   */
  @ConduitAuthenticated()
  @Put('user')
  @ConduitErrors(422, 503)
  async update(
    @CurrentUser() viewer: AuthUser,
    @Req() req: ConduitRequest,
    @Body() dto: ConduitUpdateUserDto,
  ): Promise<ConduitUserResponseDto> {
    return { user: await this.conduit.updateUser(viewer, req.conduitToken!, dto.user) };
  }

  /**
   * Conduit: profile
   *
   * @remarks A user's public profile; `following` for a signed-in viewer.
   */
  @ConduitOptionalAuth()
  @Get('profiles/:username')
  @ConduitErrors(404, 422, 503)
  async profile(
    @CurrentUser() viewer: AuthUser | undefined,
    @Param() { username }: ConduitUsernameParams,
  ): Promise<ConduitProfileResponseDto> {
    return { profile: await this.conduit.profile(username, viewer) };
  }

  /**
   * Conduit: follow
   *
   * @remarks Follows the user (idempotent). Yourself is 422; an unknown or deactivated user 404.
   */
  @ConduitContentWrite()
  @Post('profiles/:username/follow')
  @HttpCode(HttpStatus.OK)
  @ConduitErrors(404, 422, 503)
  async follow(
    @CurrentUser() viewer: AuthUser,
    @Param() { username }: ConduitUsernameParams,
  ): Promise<ConduitProfileResponseDto> {
    return { profile: await this.conduit.setFollowing(viewer, username, true) };
  }

  /**
   * Conduit: unfollow
   *
   * @remarks Unfollows the user (idempotent). A deactivated user can still be unfollowed, as natively: the
   * answer's profile then has its username only (bio and image null). An unknown user is 404.
   */
  @ConduitContentWrite()
  @Delete('profiles/:username/follow')
  @ConduitErrors(404, 422, 503)
  async unfollow(
    @CurrentUser() viewer: AuthUser,
    @Param() { username }: ConduitUsernameParams,
  ): Promise<ConduitProfileResponseDto> {
    return { profile: await this.conduit.setFollowing(viewer, username, false) };
  }

  /**
   * Conduit: tags
   *
   * @remarks The names of the 100 most used tags.
   */
  @ConduitPublic()
  @Get('tags')
  @ConduitErrors(503)
  async tags(): Promise<ConduitTagsResponseDto> {
    return { tags: await this.conduit.tags() };
  }
}
