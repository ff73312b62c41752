import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import { MeDto } from '../users/dto/user-response.dto.js';
import { UserMapper } from '../users/user.mapper.js';
import { AuthService } from './auth.service.js';
import { RegisterDto } from './dto/register.dto.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Creates an account (status `pending` until the email is verified). */
  @Post('register')
  @HttpCode(HttpStatus.CREATED)
  @ApiProblemResponses(400, 409, 413, 415)
  async register(@Body() dto: RegisterDto): Promise<MeDto> {
    return UserMapper.toMe(await this.auth.register(dto));
  }
}
