import { ApiTimestamp } from '../../common/dto/api-timestamp.js';
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

/** One of the caller's sessions (a signed-in device). */
export class SessionDto {
  id!: string;
  /** The User-Agent that signed in. */
  userAgent?: string;
  /** The client IP that signed in. */
  ip?: string;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  lastUsedAt!: string;
  @ApiTimestamp()
  expiresAt!: string;
  /** True for the session of the token making this request. */
  current!: boolean;
}

export class SessionListDto {
  items!: SessionDto[];
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}

/** The same answer whether or not the email is known, so the endpoint reveals nothing. */
export class AcceptedDto {
  /** @example If the address is registered, a message is on its way. */
  message!: string;
}
