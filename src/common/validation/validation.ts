import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { badRequest, type FieldError } from '../errors/domain-error.js';
import { ErrorCode } from '../errors/error-codes.js';

/** Flattens class-validator's nested errors into `{ field: 'a.b', messages }` entries. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own: FieldError[] = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/**
 * The global pipe: unknown properties are refused (so no request can set a role, a key or a
 * counter by adding a field), payloads become DTO instances, and failures are one 400
 * `validation_failed` problem listing every field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      return badRequest(
        ErrorCode.ValidationFailed,
        fields.length ? `Invalid request: ${fields.map((f) => f.field).join(', ')}` : 'Invalid request.',
        fields.length ? fields : [{ field: 'body', messages: ['must be a JSON object'] }],
      );
    },
  });
}
