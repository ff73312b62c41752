import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { IdParams } from '../common/dto/id-params.dto.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/dto/page-query.dto.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { UserMapper } from '../users/user.mapper.js';
import type { AuthUser } from '../identity/auth-user.js';
import { Authenticated, CurrentUser, ErasureRetry, Public } from '../identity/auth.decorators.js';
import { AuthService, type ClientInfo, type IssuedTokens } from './auth.service.js';
import {
  AcceptedDto,
  AuthTokensDto,
  ChangePasswordDto,
  EmailDto,
  LoginDto,
  RefreshDto,
  ResetPasswordDto,
  TokenDto,
} from './dto/auth.dto.js';
import { SessionListDto } from '../identity/sessions/session.dto.js';
import { RegisterDto } from '../users/dto/register.dto.js';
import { toSessionDto } from '../identity/sessions/session.mapper.js';

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

  /**
   * Register an account
   *
   * @remarks Creates an account (status `pending` until the email is verified), mails a verification link and
   * signs it in: the answer holds an access and a refresh token. A taken email or username is 409
   * (`email_taken`, `username_taken`); registrations per IP are rate-limited (429).
   */
  @Public()
  @Post('register')
  @HttpCode(HttpStatus.CREATED)
  @ApiProblemResponses(400, 409, 413, 415, 429)
  async register(@Body() dto: RegisterDto, @Req() req: Request): Promise<AuthTokensDto> {
    return toTokens(await this.auth.register(dto, clientOf(req)));
  }

  /**
   * Sign in
   *
   * @remarks Checks email and password and opens a session for this device. Wrong credentials are 401
   * `invalid_credentials` whether or not the email exists; a suspended or deactivated account is 403 (but an
   * account whose erasure suspended it and failed midway signs in, to retry `DELETE /users/me?mode=erase`, which
   * with signing out is all its tokens may call);
   * repeated failures lock the account for a while (429 `too_many_login_attempts`).
   */
  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 401, 403, 429)
  async login(@Body() dto: LoginDto, @Req() req: Request): Promise<AuthTokensDto> {
    return toTokens(await this.auth.login(dto.email, dto.password, clientOf(req)));
  }

  /**
   * Refresh the tokens
   *
   * @remarks Exchanges a refresh token for a new access and refresh token (rotation: each refresh token works
   * once). Reusing a rotated token revokes the whole session (401 `refresh_token_reused`). Send no
   * `Authorization` header: this route reads only the body.
   */
  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiProblemResponses(400, 401, 403, 429)
  async refresh(@Body() dto: RefreshDto): Promise<AuthTokensDto> {
    return toTokens(await this.auth.refresh(dto.refreshToken));
  }

  /**
   * Sign out
   *
   * @remarks Ends the current session: its refresh token stops working and its access token is refused from the
   * next request on.
   */
  @Authenticated()
  @Post('logout')
  // Review 18d L2: the owner of an account whose erasure is pending can end the sessions it opened to retry.
  @ErasureRetry()
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentUser() user: AuthUser): Promise<void> {
    await this.auth.logout(user.userId, user.sessionId);
  }

  /**
   * Sign out everywhere
   *
   * @remarks Ends every session of the caller, on every device, including this one.
   */
  @Authenticated()
  @Post('logout-all')
  // Review 18d L2: the owner of an account whose erasure is pending can end the sessions it opened to retry.
  @ErasureRetry()
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.auth.logoutAll(user.userId);
  }

  /**
   * List my sessions
   *
   * @remarks The caller's live sessions (devices), a page at a time in a stable order, with the one of this
   * token marked `current`.
   */
  @Authenticated()
  @Get('sessions')
  // Session 19: the owner of an account whose erasure is pending sees the sessions it may end.
  @ErasureRetry()
  @ApiProblemResponses(400)
  async sessions(@CurrentUser() user: AuthUser, @Query() query: PageQueryDto): Promise<SessionListDto> {
    const page = await this.auth.listSessions(
      user.userId,
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
      user.sessionCutoff,
    );
    return {
      nextCursor: page.nextCursor,
      items: page.items.map((s) => toSessionDto(s, user.sessionId)),
    };
  }

  /**
   * Revoke one of my sessions
   *
   * @remarks Ends one of the caller's sessions (another device). A session of someone else is 404, like one that
   * does not exist, and so is one that has already ended (a sign-out everywhere, a password reset) or expired:
   * the session list does not show those either.
   */
  @Authenticated()
  @Delete('sessions/:id')
  // Session 19: and ends one of them.
  @ErasureRetry()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 404)
  async revokeSession(@CurrentUser() user: AuthUser, @Param() { id }: IdParams): Promise<void> {
    await this.auth.revokeSession(user.userId, id, user.sessionCutoff);
  }

  /**
   * Change my password
   *
   * @remarks Needs the current password (403 `wrong_password` otherwise, rate-limited). Every other session is
   * revoked and a security notice is mailed.
   */
  @Authenticated()
  @Post('password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 429)
  async changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto): Promise<void> {
    await this.auth.changePassword(user.userId, user.sessionId, dto.currentPassword, dto.newPassword);
  }

  /**
   * Request a password-reset mail
   *
   * @remarks Mails a link with a single-use token to the address. Answers 202 the same whether or not the
   * address is registered, so it cannot be used to find accounts; rate-limited per IP and per address.
   */
  @Public()
  @Post('password-reset/request')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(400, 429)
  async requestPasswordReset(@Body() dto: EmailDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.requestPasswordReset(dto.email, clientOf(req));
    return ACCEPTED;
  }

  /**
   * Reset the password with the mailed token
   *
   * @remarks Sets a new password with the token of the mail; every session of the account is revoked. An
   * unknown, used or expired token is 400 `invalid_or_expired_token`. Uses of mailed links are limited per
   * client IP (`LINK_REDEEM_RATE_*`): 429 `too_many_link_attempts`.
   */
  @Public()
  @Post('password-reset/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 429)
  async confirmPasswordReset(@Body() dto: ResetPasswordDto, @Req() req: Request): Promise<void> {
    await this.auth.confirmPasswordReset(dto.token, dto.newPassword, clientOf(req));
  }

  /**
   * Request a verification mail
   *
   * @remarks Mails a verification link again. Answers 202 the same whether or not the address is registered;
   * rate-limited.
   */
  @Public()
  @Post('verify-email/request')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiProblemResponses(400, 429)
  async requestEmailVerification(@Body() dto: EmailDto, @Req() req: Request): Promise<AcceptedDto> {
    await this.auth.requestEmailVerification(dto.email, clientOf(req));
    return ACCEPTED;
  }

  /**
   * Verify the email with the mailed token
   *
   * @remarks Confirms the address with the token of the mail; a `pending` account becomes `active`. An unknown,
   * used or expired token is 400 `invalid_or_expired_token`. Limited per client IP with the other links
   * (`LINK_REDEEM_RATE_*`): 429 `too_many_link_attempts`.
   */
  @Public()
  @Post('verify-email/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 429)
  async confirmEmailVerification(@Body() dto: TokenDto, @Req() req: Request): Promise<void> {
    await this.auth.confirmEmailVerification(dto.token, clientOf(req));
  }

  /**
   * Confirm an email change with the link mailed to the new address
   *
   * @remarks The token of the link `POST /users/me/email` mailed to the new address (valid
   * `ACTION_TOKEN_TTL_SECONDS`): moves the account there, verified (a `pending` account becomes `active`),
   * and the old address gets a notice (with its "it wasn't me" link when it was verified). An address someone
   * took meanwhile is 409 `email_taken` (the link still works). An unknown, used or expired token, or one whose
   * account changed its password, was reset, changed or reverted its email since, is 400
   * `invalid_or_expired_token`. Limited per client IP with the other links (`LINK_REDEEM_RATE_*`): 429
   * `too_many_link_attempts`.
   */
  @Public()
  @Post('email-change/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 409, 429)
  async confirmEmailChange(@Body() dto: TokenDto, @Req() req: Request): Promise<void> {
    await this.auth.confirmEmailChange(dto.token, clientOf(req));
  }

  /**
   * Undo an email change with the link mailed to the old address
   *
   * @remarks The token of the "it wasn't me" link in the `email_changed` notice (valid
   * `EMAIL_CHANGE_REVERT_TTL_HOURS`): moves the account back to the old address (verified), releases the
   * address it was moved to, revokes every session and disables the password; the owner then chooses a new
   * one with a password reset, mailed to the restored address. An account its owner deactivated becomes active
   * again (one an admin deactivated or suspended stays so). An unknown, used or expired token, or one
   * whose change was undone since, is 400 `invalid_or_expired_token`. The link is used up only by a revert
   * that is written: after a 503 (the database busy, or the account changing meanwhile) it still works.
   * Limited per client IP with the other links (`LINK_REDEEM_RATE_*`): 429 `too_many_link_attempts`.
   */
  @Public()
  @Post('email-change/revert')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiProblemResponses(400, 429)
  async revertEmailChange(@Body() dto: TokenDto, @Req() req: Request): Promise<void> {
    await this.auth.revertEmailChange(dto.token, clientOf(req));
  }
}
