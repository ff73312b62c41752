import { Transform } from 'class-transformer';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import {
  isEmail,
  IsString,
  MaxLength,
  registerDecorator,
  ValidateBy,
  ValidateIf,
  type ValidationOptions,
} from 'class-validator';
import { isIsoCalendarDate, pastDateMessage } from './dates.js';
import { hasUnsafeCharacters } from './identifiers.js';

/** The string's UTF-8 encoding is at most `max` bytes (bcrypt reads only 72). */
export function MaxBytes(max: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'maxBytes',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [max],
      options: { message: `$property must be at most ${max} bytes in UTF-8`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= max,
      },
    });
}

/** The string's UTF-8 encoding is at least `min` bytes. */
export function MinBytes(min: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'minBytes',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [min],
      options: { message: `$property must be at least ${min} bytes in UTF-8`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') >= min,
      },
    });
}

/** Trims strings; leaves other types alone so that type validation still reports them. */
export const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/** Trims and lower-cases strings (emails, usernames). */
export const TrimLower = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

/**
 * A `YYYY-MM-DD` string naming a real calendar date. Whether it lies in the past is the service's
 * check (`isDateBefore`) on the app's clock: class-validator's rules run outside the app's injector,
 * and its container is one per process, so a rule here could only read the machine's time.
 */
export function IsIsoCalendarDate(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isIsoCalendarDate',
      target: target.constructor,
      propertyName,
      options: { message: pastDateMessage('$property'), ...options },
      validator: { validate: isIsoCalendarDate },
    });
}

/** A flat object with at most `maxKeys` keys of safe names and small scalar values, strings of plain text (keeps items far below 400 KB). */
export function IsSmallFlatRecord(
  maxKeys: number,
  maxKeyLength: number,
  maxStringLength: number,
  options?: ValidationOptions,
) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isSmallFlatRecord',
      target: target.constructor,
      propertyName,
      options: {
        message: `$property must have at most ${maxKeys} keys of up to ${maxKeyLength} characters (a-z, A-Z, 0-9, . _ -) with strings of up to ${maxStringLength} characters (no control characters or lone surrogates), numbers or booleans`,
        ...options,
      },
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= maxKeys &&
            entries.every(
              ([key, v]) =>
                new RegExp(`^[A-Za-z0-9._-]{1,${maxKeyLength}}$`).test(key) &&
                ((typeof v === 'string' && v.length <= maxStringLength && !hasUnsafeCharacters(v)) ||
                  (typeof v === 'number' && Number.isFinite(v)) ||
                  typeof v === 'boolean'),
            )
          );
        },
      },
    });
}

/**
 * class-validator's `isEmail`, false rather than a throw for text with a lone surrogate or a
 * control character: validator's length check runs `encodeURI` on the local part, which throws
 * `URIError` on a lone surrogate (review 22a L1: a 500 on six anonymous routes).
 */
const IsWellFormedEmail = () =>
  ValidateBy({
    name: 'isEmail',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !hasUnsafeCharacters(value) && isEmail(value),
      defaultMessage: () => 'email must be a valid email address',
    },
  });

/** An account email: trimmed, lower-cased, valid, at most 254 characters. */
export const AccountEmail = () =>
  applyDecorators(
    // The Swagger plugin cannot see through a composite decorator: state the schema here.
    ApiProperty({ type: String, format: 'email', maxLength: 254, example: 'ada@example.com' }),
    TrimLower(),
    IsWellFormedEmail(),
    MaxLength(254),
  );

/**
 * An optional field that cannot be cleared: absent is fine, `null` is validated like any value
 * (and refused by the field's type rule), where `@IsOptional()` would let it through to code that
 * expects a string (review 22a L5: `"username": null` was a 500).
 */
export const OptionalNotNull = (): PropertyDecorator => ValidateIf((_object, value: unknown) => value !== undefined);

/** A new password: 8 to 72 bytes in UTF-8 (bcrypt reads no further, so longer ones are refused, not truncated). */
export const NewPassword = () =>
  applyDecorators(
    ApiProperty({
      type: String,
      minLength: 8,
      description: '8 to 72 bytes in UTF-8.',
      example: 'correct horse battery staple',
    }),
    IsString(),
    MinBytes(8),
    MaxBytes(72),
  );
