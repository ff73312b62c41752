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
  PayloadTooDeep: 'payload_too_deep',
  ForbiddenKey: 'forbidden_key',
  InvalidCursor: 'invalid_cursor',
  RouteNotFound: 'route_not_found',
  MethodNotAllowed: 'method_not_allowed',
  BadRequest: 'bad_request',
  // authentication and authorization
  InvalidCredentials: 'invalid_credentials',
  AccountSuspended: 'account_suspended',
  AccountInactive: 'account_inactive',
  TooManyLoginAttempts: 'too_many_login_attempts',
  TooManyRequests: 'too_many_requests',
  /** Too many uses of mailed links' tokens (reset, verification, email-change undo) from one IP. */
  TooManyLinkAttempts: 'too_many_link_attempts',
  /** Too many new tags made through Conduit's `tagList` by one account (review 19c, M2). */
  TooManyNewTags: 'too_many_new_tags',
  MissingToken: 'missing_token',
  InvalidToken: 'invalid_token',
  TokenExpired: 'token_expired',
  SessionRevoked: 'session_revoked',
  InvalidRefreshToken: 'invalid_refresh_token',
  RefreshTokenReused: 'refresh_token_reused',
  SessionNotFound: 'session_not_found',
  InvalidActionToken: 'invalid_or_expired_token',
  WrongPassword: 'wrong_password',
  PasswordRequired: 'password_required',
  InsufficientRole: 'insufficient_role',
  InvalidMetricsToken: 'invalid_metrics_token',
  // users
  EmailTaken: 'email_taken',
  /** An email change while MAX_PENDING_EMAIL_REVERTS earlier changes can still be undone (src/users/email-reverts.ts). */
  TooManyEmailChanges: 'too_many_email_changes',
  UsernameTaken: 'username_taken',
  UserNotFound: 'user_not_found',
  ExportTooLarge: 'export_too_large',
  VersionMismatch: 'version_mismatch',
  InvalidIfMatch: 'invalid_if_match',
  LastAdmin: 'last_admin',
  /** A status change of an account whose erasure is pending (its owner's or an admin's request stands). */
  ErasurePending: 'erasure_pending',
  /** Too many username or name changes for the account in the window (issue 17). */
  TooManyRenames: 'too_many_renames',
  /** No dead-lettered webhook delivery has this id (issue 17: replaying dead letters). */
  DeadLetterNotFound: 'dead_letter_not_found',
  // taxonomy and content
  SlugTaken: 'slug_taken',
  CategoryNotFound: 'category_not_found',
  UnknownParent: 'unknown_parent',
  CategoryCycle: 'category_cycle',
  CategoryNotEmpty: 'category_not_empty',
  /** A creation or move would put a category deeper than MAX_CATEGORY_DEPTH levels (review 21a M2). */
  CategoryTooDeep: 'category_too_deep',
  TagNotFound: 'tag_not_found',
  TagInUse: 'tag_in_use',
  PostNotFound: 'post_not_found',
  InvalidTransition: 'invalid_transition',
  IdempotencyKeyReused: 'idempotency_key_reused',
  NotPostAuthor: 'not_post_author',
  CommentNotFound: 'comment_not_found',
  UnknownParentComment: 'unknown_parent_comment',
  NotCommentAuthor: 'not_comment_author',
  // follows (issue 18)
  CannotFollowSelf: 'cannot_follow_self',
  TooManyFanInFollows: 'too_many_fan_in_follows',
  /** Too many publications of one author's posts in the window (review #5; withdrawals are not counted). */
  TooManyPublishes: 'too_many_publishes',
  // infrastructure
  DatabaseUnavailable: 'database_unavailable',
  DatabaseTimeout: 'database_timeout',
  DatabaseThrottled: 'database_throttled',
  DatabaseBusy: 'database_busy',
  ServerBusy: 'server_busy',
  /** `/health/worker`: the in-process stream worker made no progress for too long (issue 17). */
  StreamWorkerStalled: 'stream_worker_stalled',
  TransactionConflict: 'transaction_conflict',
  InternalError: 'internal_error',
  // Nest's and Express's own HTTP errors that no rule above names (`http_<status>`): the statuses
  // Nest has an HttpException class for. Any other status is answered as bad_request or internal_error.
  Http400: 'http_400',
  Http401: 'http_401',
  Http403: 'http_403',
  Http404: 'http_404',
  Http405: 'http_405',
  Http406: 'http_406',
  Http408: 'http_408',
  Http409: 'http_409',
  Http410: 'http_410',
  Http412: 'http_412',
  Http413: 'http_413',
  Http415: 'http_415',
  Http418: 'http_418',
  Http421: 'http_421',
  Http422: 'http_422',
  Http429: 'http_429',
  Http500: 'http_500',
  Http501: 'http_501',
  Http502: 'http_502',
  Http503: 'http_503',
  Http504: 'http_504',
  Http505: 'http_505',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The whole catalogue, in declaration order: the `code` enum of the OpenAPI problem schema. */
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

const KNOWN = new Set<string>(ERROR_CODES);
export const isErrorCode = (value: string): value is ErrorCode => KNOWN.has(value);

/**
 * The base of every problem's `type` URI, `<base>/<code, - for _>` (`.../email-taken`): an
 * identifier that never changes for a code (RFC 9457 does not require it to resolve). One place, so
 * that a fork on its own domain changes it here; the OpenAPI examples (and so the generated client)
 * follow it (`npm run client:generate`).
 */
export const PROBLEM_TYPE_BASE = 'https://errors.publishing-api.dev';

/** The `type` URI of a problem with this code. */
export const problemTypeOf = (code: ErrorCode): string => `${PROBLEM_TYPE_BASE}/${code.replace(/_/g, '-')}`;
