import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/** The string's UTF-8 encoding is at most `max` bytes (bcrypt reads only 72). */
export function MaxBytes(max: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'maxBytes',
      target: target.constructor,
      propertyName,
      constraints: [max],
      options: { message: `$property must be at most ${max} bytes in UTF-8`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= max,
      },
    });
}

/** The string's UTF-8 encoding is at least `min` bytes. */
export function MinBytes(min: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'minBytes',
      target: target.constructor,
      propertyName,
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
