import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { AccountEmail, NewPassword, OptionalNotNull, Trim } from '../../common/validation/validators.js';
import { USERNAME_PATTERN } from '../../identity/username.js';
import { PlainText, TrimNfkcLower } from '../../common/validation/identifiers.js';

export class RegisterDto {
  /**
   * Email address; compared without case and surrounding spaces.
   * @example ada@example.com
   */
  @AccountEmail()
  email!: string;

  /**
   * 8 to 72 bytes in UTF-8 (bcrypt reads no further, so longer passwords are refused rather than truncated).
   * @example correct horse battery staple
   */
  @NewPassword()
  password!: string;

  /** @example Ada */
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  @PlainText()
  firstName?: string;

  /** @example Lovelace */
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  @PlainText()
  lastName?: string;

  /**
   * Unique handle: 3-30 characters of a-z, 0-9, `_` and `-`, starting and ending with a letter or digit.
   * Derived from the email when absent; cannot be `null`.
   * @example ada_l
   */
  @OptionalNotNull()
  @TrimNfkcLower()
  @IsString()
  @Matches(USERNAME_PATTERN, {
    message: 'username must be 3-30 characters of a-z, 0-9, _ and -, starting and ending with a letter or digit',
  })
  username?: string;
}
