import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../common/http/api-problem-responses.decorator.js';
import { UserMapper } from '../users/user.mapper.js';
import type { AuthUser } from './auth-user.js';
import { Authenticated, CurrentUser, Public } from './auth.decorators.js';
import { AuthService, type ClientInfo, type IssuedTokens } from './auth.service.js';
import {
  AcceptedDto,
  AuthTokensDto,
  ChangePasswordDto,
  EmailDto,
  LoginDto,
  RefreshDto,
  ResetPasswordDto,
  SessionListDto,
  TokenDto,
} from './dto/auth.dto.js';
import { RegisterDto } from './dto/register.dto.js';

const ACCEPTED: AcceptedDto = { message: 'If the address is registered, a message is on its way.' };

const clientOf = (req: Request): ClientInfo => ({ ip: req.ip, userAgent: req.get('user-agent') });

const toTokens = (issued: IssuedTokens): AuthTokensDto => ({
  accessToken: issued.accessToken,
  refreshToken: issued.refreshToken,
  tokenType: issued.tokenType,
  expiresIn: issued.expiresIn,
  user: UserMapper.toMe(issued.user),
});

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Creates an account (status `pending` until the email is verified) and signs it in. */
  @Public()
  @Post('register')
  @HttpCode(HttpStatus.CREATED)
  @ApiProblemResponses(400, 409, 413, 415, 429)
  async register(@Body() dto: RegisterDto, @Req() req: Request): Promise<AuthTokensDto> {
    return toTokens(await this.auth.register(dto, clientOf(req)));
  }

  /** Signs in with email and password and opens a session for this device. */
  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 401, 403, 429)
  async login(@Body() dto: LoginDto, @Req() req: Request): Promise<AuthTokensDto> {
    return toTokens(await this.auth.login(dto.email, dto.password, clientOf(req)));
  }

  /** Exchanges a refresh token for a new access and refresh token. Reusing a rotated token revokes the session. */
  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 401, 403, 429)
  async refresh(@Body() dto: RefreshDto): Promise<AuthTokensDto> {
    return toTokens(await this.auth.refresh(dto.refreshToken));
  }

  /** Ends the current session. */
  @Authenticated()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentUser() user: AuthUser): Promise<void> {
    await this.auth.logout(user.userId, user.sessionId);
  }

  /** Ends every session of the caller, on every device. */
  @Authenticated()
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.auth.logoutAll(user.userId);
  }

  /** The caller's live sessions (devices), a page at a time, in a stable order. */
  @Authenticated()
  @Get('sessions')
  @ApiProblemResponses(400)
  async sessions(@CurrentUser() user: AuthUser, @Query() query: PageQueryDto): Promise<SessionListDto> {
    const page = await this.auth.listSessions(user.userId, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    return {
      nextCursor: page.nextCursor,
      items: page.items.map((s) => ({
        id: s.id,
        userAgent: s.userAgent,
        ip: s.ip,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        expiresAt: s.expiresAt,
        current: s.id === user.sessionId,
      })),
    };
  }

  /** Revokes one of the caller's sessions. */
  @Authenticated()
  @Delete('sessions/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404)
  async revokeSession(@CurrentUser() user: AuthUser, @Param() { id }: IdParams): Promise<void> {
    await this.auth.revokeSession(user.userId, id);
  }

  /** Changes the password; every other session is revoked. */
  @Authenticated()
  @Post('password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 429)
  async changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto): Promise<void> {
    await this.auth.changePassword(user.userId, user.sessionId, dto.currentPassword, dto.newPassword);
  }

  /** Emails a password-reset link. Answers the same whether or not the address is registered. */
  @Public()
  @Post('password-reset/request')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(400, 429)
  async requestPasswordReset(@Body() dto: EmailDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.requestPasswordReset(dto.email, clientOf(req));
    return ACCEPTED;
  }

  /** Sets a new password with the emailed token; all sessions are revoked. */
  @Public()
  @Post('password-reset/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400)
  async confirmPasswordReset(@Body() dto: ResetPasswordDto): Promise<void> {
    await this.auth.confirmPasswordReset(dto.token, dto.newPassword);
  }

  /** Emails a verification link. Answers the same whether or not the address is registered. */
  @Public()
  @Post('verify-email/request')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(400, 429)
  async requestEmailVerification(@Body() dto: EmailDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.requestEmailVerification(dto.email, clientOf(req));
    return ACCEPTED;
  }

  /** Confirms the email with the emailed token; a `pending` account becomes `active`. */
  @Public()
  @Post('verify-email/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400)
  async confirmEmailVerification(@Body() dto: TokenDto): Promise<void> {
    await this.auth.confirmEmailVerification(dto.token);
  }
}
