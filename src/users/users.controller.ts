import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { compositeEtagOf } from '../common/http/etag.js';
import { Public } from '../auth/auth.decorators.js';
import { IdParams } from '../common/dto/id-params.dto.js';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import { PublicUserDto } from './dto/user-response.dto.js';
import { UsernameParams } from './dto/update-user.dto.js';
import { UserMapper } from './user.mapper.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /**
   * Get a user's public page by username
   *
   * @remarks Username, names and public profile; never the email. The username is matched case-insensitively
   * after NFKC.
   */
  @Public()
  @Get('by-username/:username')
  @ApiProblemResponses(400, 404)
  async getByUsername(
    @Param() { username }: UsernameParams,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PublicUserDto> {
    const { user, profile } = await this.users.getByUsername(username);
    res.setHeader('ETag', compositeEtagOf(user.version, profile.version));
    return UserMapper.toPublic(user, profile);
  }

  /**
   * Get a user's public page
   *
   * @remarks Username, names and public profile; never the email.
   */
  @Public()
  @Get(':id')
  @ApiProblemResponses(400, 404)
  async getPublic(@Param() { id }: IdParams, @Res({ passthrough: true }) res: Response): Promise<PublicUserDto> {
    const { user, profile } = await this.users.getPublic(id);
    res.setHeader('ETag', compositeEtagOf(user.version, profile.version));
    return UserMapper.toPublic(user, profile);
  }
}
