import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../identity/auth-user.js';
import { compositeEtagOf } from '../http/etag.js';
import { CurrentUser, OptionalAuth } from '../identity/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { FollowsRepository } from '../follows/follows.repository.js';
import { PublicUserDto } from './dto/user-response.dto.js';
import { UsernameParams } from './dto/update-user.dto.js';
import type { UserAggregate } from './user.entity.js';
import { UserMapper } from './user.mapper.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly follows: FollowsRepository,
  ) {}

  /**
   * Get a user's public page by username
   *
   * @remarks Username, names, public profile and follow counts; never the email. The username is matched
   * case-insensitively after NFKC. With a token, `followedByMe` says whether the caller follows the user.
   */
  @OptionalAuth()
  @Get('by-username/:username')
  @ApiProblemResponses(400, 404)
  async getByUsername(
    @Param() { username }: UsernameParams,
    @CurrentUser() viewer: AuthUser | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicUserDto> {
    const aggregate = await this.users.getByUsername(username);
    const followedByMe = viewer ? await this.follows.isFollowing(viewer.userId, aggregate.user.id) : undefined;
    return this.send(res, aggregate, followedByMe);
  }

  /**
   * Get a user's public page
   *
   * @remarks Username, names, public profile and follow counts; never the email. With a token, `followedByMe`
   * says whether the caller follows the user (one more GetItem).
   */
  @OptionalAuth()
  @Get(':id')
  @ApiProblemResponses(400, 404)
  async getPublic(
    @Param() { id }: IdParams,
    @CurrentUser() viewer: AuthUser | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicUserDto> {
    const [aggregate, followedByMe] = await Promise.all([
      this.users.getPublic(id),
      viewer ? this.follows.isFollowing(viewer.userId, id) : undefined,
    ]);
    return this.send(res, aggregate, followedByMe);
  }

  /** The ETag covers what the answer shows: both versions, both counts and, signed in, the follow. */
  private send(res: Response, aggregate: UserAggregate, followedByMe: boolean | undefined): PublicUserDto {
    const { user, profile, follows } = aggregate;
    const versions = [user.version, profile.version, follows.followerCount, follows.followingCount];
    if (followedByMe !== undefined) versions.push(followedByMe ? 1 : 0);
    res.setHeader('ETag', compositeEtagOf(...versions));
    return UserMapper.toPublic(aggregate, followedByMe);
  }
}
