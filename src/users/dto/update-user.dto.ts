import { ApiProperty } from '@nestjs/swagger';
import { PlainText, TrimNfkcLower } from '../../common/validation/identifiers.js';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PickType } from '@nestjs/swagger';
import { RegisterDto } from './register.dto.js';
import { PageQueryDto } from '../../common/dto/page-query.dto.js';
import { AccountEmail, IsIsoCalendarDate, IsSmallFlatRecord } from '../../common/validation/validators.js';
import { USER_ROLES, USER_STATUSES, type UserRole, type UserStatus } from '../user.entity.js';

/** `PATCH /users/me`: names and username only; anything else is refused. */
export class UpdateMeDto extends PickType(RegisterDto, ['firstName', 'lastName', 'username'] as const) {}

/** `POST /users/me/email`. */
export class ChangeEmailDto {
  /** The new address; the account moves there once the link mailed to it is used. @example ada@newmail.example */
  @AccountEmail()
  email!: string;

  /** The current password, to prove it is really the account holder. */
  @IsString()
  @Length(1, 1024)
  password!: string;
}

const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

export class SocialLinkInputDto {
  /** Network name, lower case. @example github */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{0,29}$/, { message: 'network must be 1-30 characters of a-z, 0-9, . _ -' })
  network!: string;

  /** @example https://github.com/ada */
  @IsUrl(HTTP_URL, { message: 'url must be an http(s) URL' })
  @MaxLength(2048)
  @PlainText()
  url!: string;
}

/** `PATCH /users/me/profile`: every field optional; `null` clears a field. */
export class UpdateProfileDto {
  /** Up to 1,000 characters. */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @PlainText()
  bio?: string | null;

  /** @example https://example.com/ada.png */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'avatarUrl must be an http(s) URL' })
  @MaxLength(2048)
  @PlainText()
  avatarUrl?: string | null;

  /** @example https://ada.example */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'website must be an http(s) URL' })
  @MaxLength(2048)
  @PlainText()
  website?: string | null;

  /** @example London */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @PlainText()
  location?: string | null;

  /** A real calendar date in the past, `YYYY-MM-DD`. @example 1815-12-10 */
  @IsOptional()
  @IsIsoCalendarDate()
  @ApiProperty({ format: 'date' })
  dateOfBirth?: string | null;

  /** E.164. @example +447700900123 */
  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phoneNumber must be in E.164 form, e.g. +447700900123' })
  phoneNumber?: string | null;

  /** Up to 10 links. */
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => SocialLinkInputDto)
  socialLinks?: SocialLinkInputDto[] | null;

  /** Up to 20 keys (1-50 characters of a-z, A-Z, 0-9, . _ -) with string (up to 200 characters, no control characters), number or boolean values. */
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsObject()
  @IsSmallFlatRecord(20, 50, 200)
  preferences?: Record<string, string | number | boolean> | null;
}

export class SetRoleDto {
  /** @example moderator */
  @IsIn(USER_ROLES)
  role!: UserRole;
}

export class SetStatusDto {
  /** `suspended` revokes every session at once. @example suspended */
  @IsIn(['active', 'suspended', 'inactive'])
  status!: Exclude<UserStatus, 'pending'>;
}

export class ListUsersQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @IsOptional()
  @IsIn(USER_STATUSES)
  status?: UserStatus;
}

export class DeleteUserQueryDto {
  /** `soft` (default) deactivates; `hard` erases the account and its personal data. */
  @IsOptional()
  @IsIn(['soft', 'hard'])
  mode?: 'soft' | 'hard';
}

export class DeleteMeQueryDto {
  /** `deactivate` (default) keeps the account, inactive; `erase` erases it (either with the password in the body). */
  @IsOptional()
  @IsIn(['deactivate', 'erase'])
  mode?: 'deactivate' | 'erase';
}

/** The body of `DELETE /users/me` (both modes: the password is required, review 22a M1). */
export class EraseMeDto {
  /** The current password, to prove it is really the account holder. */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  password?: string;
}

export class UsernameParams {
  /** @example ada */
  @TrimNfkcLower()
  @IsString()
  @MaxLength(30)
  username!: string;
}
