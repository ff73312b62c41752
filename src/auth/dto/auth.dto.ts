import { IsString, Length } from 'class-validator';
import { AccountEmail, NewPassword } from '../../common/validation/validators.js';
import { MeDto } from '../../users/dto/user-response.dto.js';

export class LoginDto {
  /** @example ada@example.com */
  @AccountEmail()
  email!: string;

  /** @example correct horse battery staple */
  @IsString()
  @Length(1, 1024)
  password!: string;
}

export class RefreshDto {
  /** The refresh token from the last login or refresh. It is single-use. */
  @IsString()
  @Length(1, 512)
  refreshToken!: string;
}

export class ChangePasswordDto {
  @IsString()
  @Length(1, 1024)
  currentPassword!: string;

  /** 8 to 72 bytes in UTF-8. */
  @NewPassword()
  newPassword!: string;
}

export class EmailDto {
  /** @example ada@example.com */
  @AccountEmail()
  email!: string;
}

export class TokenDto {
  /** The token from the emailed link. */
  @IsString()
  @Length(1, 512)
  token!: string;
}

export class ResetPasswordDto extends TokenDto {
  /** 8 to 72 bytes in UTF-8. */
  @NewPassword()
  newPassword!: string;
}

/** A signed-in session's credentials. */
export class AuthTokensDto {
  /** Short-lived JWT for the `Authorization: Bearer` header. */
  accessToken!: string;
  /** Single-use token for `POST /auth/refresh`; store it securely. */
  refreshToken!: string;
  /** @example Bearer */
  tokenType!: 'Bearer';
  /** Seconds until the access token expires. @example 900 */
  expiresIn!: number;
  user!: MeDto;
}

/** The same answer whether or not the email is known, so the endpoint reveals nothing. */
export class AcceptedDto {
  /** @example If the address is registered, a message is on its way. */
  message!: string;
}
