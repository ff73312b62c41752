/**
 * Every stable error `code` the API can answer with, in one place so that clients and the
 * docs have a single list. Values never change once released; add new ones instead.
 */
export const ErrorCode = {
  // request shape
  ValidationFailed: 'validation_failed',
  MalformedJson: 'malformed_json',
  UnsupportedMediaType: 'unsupported_media_type',
  PayloadTooLarge: 'payload_too_large',
  InvalidCursor: 'invalid_cursor',
  RouteNotFound: 'route_not_found',
  MethodNotAllowed: 'method_not_allowed',
  BadRequest: 'bad_request',
  // users
  EmailTaken: 'email_taken',
  UsernameTaken: 'username_taken',
  UserNotFound: 'user_not_found',
  // infrastructure
  DatabaseUnavailable: 'database_unavailable',
  DatabaseTimeout: 'database_timeout',
  DatabaseThrottled: 'database_throttled',
  TransactionConflict: 'transaction_conflict',
  InternalError: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
