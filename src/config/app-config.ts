import { availableParallelism } from 'node:os';
import { isInternalHost } from './internal-host.js';

/**
 * Typed, validated configuration. It is read once from the environment (see `loadConfig`)
 * and provided to the whole app under the `APP_CONFIG` token; nothing else reads
 * `process.env`. A bad value stops start-up with a message naming the variable.
 */
export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export interface DynamoConfig {
  /** AWS region; DynamoDB Local accepts any. */
  region: string;
  /** Explicit endpoint (DynamoDB Local in Docker, a test engine). Undefined means AWS, or embedded outside production. */
  endpoint: string | undefined;
  tableName: string;
  /** Start the bundled DynamoDB Local when no endpoint is configured (never in production). */
  embedded: boolean;
  /** Where the embedded engine keeps its files. */
  embeddedDataDir: string;
  /** Create the table at start-up when it is missing (default outside production). */
  createTable: boolean;
  connectionTimeoutMs: number;
  /** The whole budget of a database call: queueing, every attempt and the backoff between them. */
  requestTimeoutMs: number;
  maxAttempts: number;
  /** Calls in flight at once; more wait in a queue of `maxQueue`, beyond which `503 database_busy`. */
  maxConcurrency: number;
  maxQueue: number;
  /** How long start-up keeps retrying an unreachable or starting database. */
  startupWaitSeconds: number;
  /** The embedded engine keeps its data in memory (throw-away runs) instead of under `embeddedDataDir`. */
  embeddedInMemory: boolean;
  /**
   * Transport of the repositories' data-plane calls: `lean` (our own, src/dynamo/lean-dynamo-client.ts)
   * or `sdk` (the AWS SDK's document client), the operators' escape hatch (DYNAMODB_CLIENT).
   */
  client: DynamoClientKind;
}

export const DYNAMODB_CLIENT_KINDS = ['lean', 'sdk'] as const;
export type DynamoClientKind = (typeof DYNAMODB_CLIENT_KINDS)[number];

export interface AuthConfig {
  jwtSecret: string;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  bcryptCost: number;
  /** Lifetime of password-reset and email-verification links. */
  actionTokenTtlSeconds: number;
  /** Absolute lifetime of a session from sign-in, however often it is refreshed. */
  sessionMaxAgeSeconds: number;
  /** Live sessions per user; a new sign-in evicts the oldest beyond this. */
  maxSessionsPerUser: number;
  /** An unverified account older than this can be replaced by a new registration of its email. */
  pendingAccountTtlHours: number;
  /**
   * Lifetime of the "it wasn't me" link in the `email_changed` notice, counted from the change, and
   * of the old address's reservation that keeps it free for the revert.
   */
  emailChangeRevertTtlHours: number;
}

/**
 * One fixed-window limit: at most `max` events per `windowSeconds` for one subject (an IP, an
 * email, an account, a session). `max` 0 turns the limit off. `name` keys the counters.
 */
export interface RateRule {
  name: string;
  max: number;
  windowSeconds: number;
}

/** Every request limit, each from `<ACTION>_RATE_MAX_PER_<SCOPE>` and `<ACTION>_RATE_WINDOW_SECONDS`. */
export interface RateLimitsConfig {
  /** Failed sign-ins per account (see docs/architecture.md for what happens once it trips). */
  loginPerAccount: RateRule;
  /** Sign-in attempts per client IP, successful or not. */
  loginPerIp: RateRule;
  registerPerIp: RateRule;
  passwordResetPerIp: RateRule;
  passwordResetPerEmail: RateRule;
  verificationPerIp: RateRule;
  verificationPerEmail: RateRule;
  /**
   * Email-change requests (`POST /users/me/email`) per client IP (429) and per requested new
   * address (review 23 M-1: past it 202 and no confirmation mail, like the reset's per-email rule).
   */
  emailChangePerIp: RateRule;
  emailChangePerEmail: RateRule;
  /** Requests that check the current password (`POST /auth/password`, `POST /users/me/email`). */
  passwordCheckPerAccount: RateRule;
  refreshPerSession: RateRule;
  /**
   * Uses of a mailed link's token per client IP (`password-reset/confirm`, `verify-email/confirm`,
   * `email-change/revert`), valid or not: tokens are 256-bit, so this bounds the load of a
   * guesser more than their odds.
   */
  linkRedeemPerIp: RateRule;
  /** Posts, comments and likes together, per account per minute; staff are exempt. */
  contentPerAccount: RateRule;
  /** Username or name changes per account: each one is fanned out to every post and comment (issue 17). */
  renamePerAccount: RateRule;
  /**
   * Publications (publish, a Conduit article created published) per author: each one is fanned
   * out to up to FEED_FANOUT_MAX_FOLLOWERS timelines by the stream processor (issue 18, review #5);
   * withdrawals are not counted (review 3, #2).
   */
  publishPerAuthor: RateRule;
  /**
   * Tags one account creates through Conduit's `tagList` (each new name is a global tag), counted
   * per tag, not per request (review 19c, M2); staff are exempt.
   */
  tagCreatePerAccount: RateRule;
  /** Personal-data exports per account: each one reads everything the account holds (review 3, #3). */
  exportPerAccount: RateRule;
}

export const MAIL_TRANSPORTS = ['file', 'smtp', 'ses', 'log'] as const;
export type MailTransport = (typeof MAIL_TRANSPORTS)[number];

export interface MailConfig {
  /**
   * `smtp` (SMTP_URL) and `ses` (Amazon SES v2) deliver; `file` writes each mail under `dir`
   * (the development default); `log` only notes that a mail was sent. Production refuses the last two.
   */
  transport: MailTransport;
  /** The sender, e.g. `Publishing <no-reply@example.com>`. */
  from: string;
  /** `smtp://user:pass@host:port` or `smtps://...` (transport `smtp`). */
  smtpUrl: string | undefined;
  /** Where the `file` transport writes. */
  dir: string;
}

export interface AppConfig {
  nodeEnv: NodeEnv;
  port: number;
  /** Interface to listen on: loopback by default outside production, all interfaces in production. */
  host: string;
  /** Browser origins allowed by CORS (exact `scheme://host[:port]`); empty means no CORS headers. */
  corsOrigins: string[];
  /** Whether CORS responses allow credentials (cookies, Authorization from browsers). */
  corsCredentials: boolean;
  /** Bearer token that `/metrics` requires; without one `/metrics` is 404. */
  metricsToken: string | undefined;
  /** bcrypt hashes and compares run at most this many at once; the rest queue. */
  passwordHashConcurrency: number;
  /** Nice value (0-19, Linux) of the bcrypt worker threads: higher yields the CPU to everything else. */
  passwordHashNice: number;
  /** How long a password check may wait for a slot before it is `503 server_busy` (ms). */
  passwordHashMaxWaitMs: number;
  /** The front end's base URL: mailed links point to its pages (`/reset-password?token=...`). */
  publicUrl: string;
  mail: MailConfig;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** Secret that the pagination cursors' encryption key is derived from (HKDF, own label). */
  cursorSecret: string;
  /** Emit the `Server-Timing: db;...` response entry. */
  serverTiming: boolean;
  /** Largest accepted JSON body. */
  bodyLimit: string;
  /** Serve Swagger UI at /docs and the JSON at /docs-json. */
  docs: boolean;
  /**
   * Send `Strict-Transport-Security` and the CSP's `upgrade-insecure-requests`: browsers reach the
   * API over HTTPS only (`HTTPS_HEADERS`; on in production, off on a plain-http development server).
   */
  httpsHeaders: boolean;
  /** Anonymous GETs of public pages are answered from memory this long (0: off). Issue 15. */
  publicCacheSeconds: number;
  /**
   * How long an instance remembers which tag or category a slug names, for the tag and category
   * feeds (one call a page instead of two). A renamed slug may still resolve elsewhere this long. Issue 15.
   */
  slugCacheSeconds: number;
  /**
   * How many shard items a post's views are spread over (src/posts/view-shards.ts): one shard takes
   * 1,000 views/s. May be raised at any time, not lowered while posts that used the higher shards exist. Issue 15.
   */
  viewCounterShards: number;
  /**
   * How long an instance remembers a live post as the view path read it (src/posts/recent-view-reads.ts):
   * one read per post per instance that long instead of one per view (0: off). Issue 15.
   */
  viewReadCacheSeconds: number;
  /**
   * Counted views per client (an IPv4 address, an IPv6 /64) per window, kept in memory by each
   * instance (src/posts/view-budgets.ts): past it a view is served but not counted (0: off).
   * Per instance, so N instances allow N times the budget. Session 20.
   */
  viewRatePerClient: RateRule;
  /**
   * Likes of one post a second that an instance counts on the post's counter item (in `likeCount` at
   * once); more go to its like shards, counted once the stream folds them (src/posts/like-heat.ts).
   * 0: all to the shards. Review 12, M3.
   */
  likeDirectMaxPerSecond: number;
  /**
   * Comments on one post a second that an instance counts on the post's counter item (in
   * `commentCount` at once); more count on its comment counter shards, counted once the stream folds
   * them (src/posts/comment-shards.ts). 0: all to the shards. Issue 15.
   */
  commentDirectMaxPerSecond: number;
  dynamo: DynamoConfig;
  auth: AuthConfig;
  rateLimits: RateLimitsConfig;
  comments: {
    /** Replies nest this deep; deeper replies attach to the deepest allowed ancestor. */
    maxDepth: number;
    /** Who gets `approved` at once: `all`, `verified` (verified emails and staff) or `staff`. */
    autoApprove: 'all' | 'verified' | 'staff';
  };
  /**
   * The most items one section of `GET /users/me/export` holds (posts, likes, comments, comment
   * likes, followed, followers): a request reads at most this many + a page per section, and
   * refuses past it (422 `export_too_large`) instead of reading without bound.
   */
  exportMaxItems: number;
  /**
   * `EXPORT_MAX_CONTENT_CHARS`: the most characters of post and comment content together (as JSON)
   * one personal-data export holds. Items alone do not bound it: a post may hold 200 KB (review 5, #1).
   */
  exportMaxContentChars: number;
  /** When both are set, start-up makes sure this active admin exists (created or promoted). */
  bootstrapAdmin: { email: string; password: string } | undefined;
  /** Reverse proxies in front of the app whose X-Forwarded-For is trusted (client IPs for rate limits). */
  trustProxy: number;
  // --- data lifecycle (issue 14) ---
  migrations: {
    /** Start while migrations are pending if every one of them is online (reads work during it). */
    allowOnlinePending: boolean;
  };
  /** What `db:create-table` switches on (default: in production). */
  tableProtection: {
    /** Point-in-time recovery: restore to any second of the last 35 days. */
    pointInTimeRecovery: boolean;
    /** DeleteTable is refused until it is switched off. */
    deletionProtection: boolean;
  };
  // --- change streams (issue 17) ---
  streamWorker: StreamWorkerConfig;
  webhooks: WebhooksConfig;
  // --- follows and the personal feed (issue 18) ---
  feed: {
    /** Authors with more followers than this are not fanned out on write: readers fan them in. */
    fanoutMaxFollowers: number;
  };
  /** Serve the RealWorld ("Conduit") API under `/api` (docs/conduit.md). Issue 18. */
  conduitApi: boolean;
  /**
   * Conduit's `GET /api/articles?favorited=<username>` lists anyone's likes (RealWorld's feature);
   * off, only the signed-in reader's own (likes are private natively). Review 19a, L2.
   */
  conduitPublicFavorites: boolean;
}

export const STREAM_WORKER_MODES = ['inline', 'off'] as const;
export type StreamWorkerMode = (typeof STREAM_WORKER_MODES)[number];

export interface StreamWorkerConfig {
  /**
   * `inline`: this process polls the table's stream (the development default, so `npm start`
   * shows the cascades). `off`: another process does (`npm run worker`, or the Lambda handler).
   */
  mode: StreamWorkerMode;
  /** The worker counts as stalled (`/health/worker`, `stream_worker_stalled`) after this long without progress. */
  stallSeconds: number;
  /** Attempts at a failing record before the local poller writes it to the dead-letter list and moves on. */
  maxAttempts: number;
  /**
   * How long the local poller retries a record whose failures are all transient (a throttled
   * database, a mail server away) before it dead-letters it like any other (review 20a M1): one
   * record that fails "transiently" for ever must not hold its shard for good. Below the stream's
   * 24 hours, so the record can still be replayed from it.
   */
  transientMaxSeconds: number;
  /**
   * How long it retries a record whose failure is a mail relay deferring one recipient (an SMTP 4xx
   * at `RCPT TO`: greylisting, a full mailbox) before it dead-letters it: a few minutes of
   * greylisting must not lose a security notice (review 20b M2), and one account's address must not
   * hold its shard for as long as a server's outage may (review 20a M1). At most `transientMaxSeconds`.
   */
  deferralMaxSeconds: number;
  /** `npm run worker` serves `/metrics` and its probes on this port (on `HOST`); 0: no server. */
  metricsPort: number;
  /**
   * The most posts and comments one handler run copies a rename onto; the rest continues from a
   * job item's own stream record, so a prolific author's rename never holds a shard (or a Lambda
   * invocation) for long.
   */
  renameItemsPerRun: number;
  /**
   * The most likes one run of a deleted post's cascade removes (each with its liker's
   * `likedCount - 1`), and the most likes one run of a post's like-place sync moves (a post
   * withdrawn or back: src/posts/like-visibility.ts); the rest goes on from the post's counter
   * item's own stream record.
   */
  cascadeLikesPerRun: number;
  /**
   * The followers one step of an author's fan-in promotion tells (review 12, M2): each step is
   * one stream record, the job item's write that ends it the record of the next.
   */
  fanInFollowersPerStep: number;
}

/** The outbound event types (issue 17): what a webhook may subscribe to (docs/streams.md). */
export const OUTBOUND_EVENT_TYPES = [
  'post.published',
  'post.scheduled',
  'post.updated',
  'post.unpublished',
  'post.deleted',
  'comment.created',
  'comment.updated',
  'user.registered',
  'user.renamed',
] as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

/** One receiver of `WEBHOOK_URLS`: `<url>` (every event) or `<url>|<type>,<type>...` (those only). */
export interface WebhookEndpoint {
  url: string;
  /** The event types it gets; undefined: all of them. */
  events: readonly OutboundEventType[] | undefined;
}

/** Outbound events delivered to webhooks by the stream worker (issue 17, docs/streams.md). */
export interface WebhooksConfig {
  /** Receivers (`WEBHOOK_URLS`, comma-separated http(s) URLs, at most 10, each optionally `|type,type`); empty: events are only listed. */
  endpoints: WebhookEndpoint[];
  /** HMAC-SHA256 key of `X-Webhook-Signature` (required when there are endpoints). */
  secret: string;
  /**
   * The key being rotated out (`WEBHOOK_SECRET_PREVIOUS`): while set, each request carries a
   * second `v1=` made with it, so receivers still verifying with the old key accept it. Empty: none.
   */
  previousSecret: string;
  /** A delivery attempt is abandoned (and counted as failed) after this long. */
  timeoutMs: number;
  /** The wait after the first failed attempt, doubling after each further one up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the worker looks for due deliveries. */
  pollMs: number;
}

/** Attempts at one delivery before it is dead-lettered (the issue fixes it at 8). */
export const WEBHOOK_MAX_ATTEMPTS = 8;
const MAX_WEBHOOK_URLS = 10;
/** The shape of an event type (`post.published`): an item of another shape is never echoed in an error. */
const EVENT_TYPE_SHAPE = /^[a-z]+\.[a-z]+$/;

/**
 * What is wrong with an http(s) webhook URL (review 20a L2), naming no part of it (its path or
 * query may hold the receiver's secret; its userinfo is one). Everywhere: no `user:password@`
 * (fetch refuses such a URL, so every delivery would fail). In production: `https:` only (the body,
 * the signature and any token in the URL would travel in clear), and no literal loopback, private,
 * link-local or metadata address (or `localhost`), as the WHATWG parser reads the host.
 */
function webhookUrlProblems(url: URL, production: boolean): string[] {
  const problems: string[] = [];
  if (url.username !== '' || url.password !== '') {
    problems.push('WEBHOOK_URLS must not hold credentials (user:password@): fetch refuses such a URL');
  }
  if (production && url.protocol !== 'https:') problems.push('WEBHOOK_URLS must hold https URLs only in production');
  if (production && isInternalHost(url)) {
    problems.push(
      'WEBHOOK_URLS must not point at a loopback, private, link-local or metadata address in production (got one with such a host)',
    );
  }
  return problems;
}

/**
 * `WEBHOOK_URLS`: comma-separated entries, each a URL, or a URL, `|` and an event type, followed by
 * further types as their own comma-separated items (`https://a/x|post.published,comment.created,https://b/y`).
 * An item with a scheme (`:`) or a `|` starts an entry; any other item after a filtered entry is
 * one more type of it. Plain URL lists (the earlier form) read as before.
 */
function webhookEndpoints(raw: string, production: boolean, problems: string[]): WebhookEndpoint[] {
  const entries: { url: string; events: string[] | undefined }[] = [];
  for (const item of raw.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const bar = item.indexOf('|');
    const previous = entries.at(-1);
    if (bar < 0 && !item.includes(':') && previous?.events) previous.events.push(item);
    else if (bar < 0) entries.push({ url: item, events: undefined });
    else entries.push({ url: item.slice(0, bar).trim(), events: [item.slice(bar + 1).trim()] });
  }
  const known: readonly string[] = OUTBOUND_EVENT_TYPES;
  return entries.map(({ url, events }) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // reported below
    }
    const scheme = parsed?.protocol ?? '';
    // Only the scheme is named: a webhook URL's path or query may hold the receiver's own secret.
    if (scheme !== 'http:' && scheme !== 'https:') {
      problems.push(`WEBHOOK_URLS must hold http(s) URLs only (got one with scheme "${scheme || 'none'}")`);
    } else if (parsed) {
      problems.push(...webhookUrlProblems(parsed, production));
    }
    for (const type of events ?? []) {
      if (known.includes(type)) continue;
      // Only a word.word item is echoed: anything else may be a scheme-less URL whose path or
      // query holds the receiver's secret (review-3 #8).
      problems.push(
        EVENT_TYPE_SHAPE.test(type)
          ? `WEBHOOK_URLS names an unknown event type "${type}" after a "|" (known types: ${known.join(', ')})`
          : `WEBHOOK_URLS has an entry after a "|" filter that is neither a known event type nor an http(s) URL (known types: ${known.join(', ')})`,
      );
    }
    return { url, events: events ? ([...new Set(events)] as OutboundEventType[]) : undefined };
  });
}

function webhooksFrom(
  env: Env,
  str: (name: string, fallback: string) => string,
  int: (name: string, fallback: number, min: number, max: number) => number,
  production: boolean,
  problems: string[],
): WebhooksConfig {
  const endpoints = webhookEndpoints(str('WEBHOOK_URLS', ''), production, problems);
  const urls = endpoints.map((endpoint) => endpoint.url);
  if (urls.length > MAX_WEBHOOK_URLS) problems.push(`WEBHOOK_URLS takes at most ${MAX_WEBHOOK_URLS} URLs`);
  if (new Set(urls).size !== urls.length) problems.push('WEBHOOK_URLS lists a URL twice');
  const secret = env.WEBHOOK_SECRET?.trim() ?? '';
  if (urls.length > 0 && Buffer.byteLength(secret) < 32) {
    problems.push('WEBHOOK_SECRET (at least 32 bytes) is required when WEBHOOK_URLS is set');
  } else if (secret !== '') {
    // In every environment: a receiver (a third party) holds this key; there is no development default.
    const weak = weakSecretReason(secret);
    if (weak) problems.push(`WEBHOOK_SECRET ${weak}`);
  }
  const previousSecret = env.WEBHOOK_SECRET_PREVIOUS?.trim() ?? '';
  if (previousSecret !== '' && Buffer.byteLength(previousSecret) < 32) {
    problems.push('WEBHOOK_SECRET_PREVIOUS, when set, must be at least 32 bytes like WEBHOOK_SECRET');
  } else if (previousSecret !== '') {
    const weak = weakSecretReason(previousSecret);
    if (weak) problems.push(`WEBHOOK_SECRET_PREVIOUS ${weak}`);
  }
  if (previousSecret !== '' && previousSecret === secret) {
    problems.push('WEBHOOK_SECRET_PREVIOUS must differ from WEBHOOK_SECRET (unset it once the rotation is over)');
  }
  const retryBaseMs = int('WEBHOOK_RETRY_BASE_MS', 30_000, 0, 86_400_000);
  const retryMaxMs = int('WEBHOOK_RETRY_MAX_MS', 3_600_000, 0, 86_400_000);
  if (retryMaxMs < retryBaseMs) problems.push('WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS');
  return {
    endpoints,
    secret,
    previousSecret,
    timeoutMs: int('WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
    retryBaseMs,
    retryMaxMs,
    pollMs: int('WEBHOOK_POLL_MS', 1000, 50, 60_000),
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
const DEV_SECRET = 'dev-only-secret-change-me-0123456789abcdef';
/** Secrets that appear in our docs and examples: never acceptable in production. */
const EXAMPLE_SECRETS = [
  DEV_SECRET,
  'change-me-to-a-long-random-string-of-32-bytes-or-more',
  'change-me-webhook-secret-at-least-32-bytes',
];

/**
 * Why a production secret is too weak, or undefined. Length alone lets `aaaa...` or a
 * repeated short word through, so a secret must also use enough distinct characters.
 */
export function weakSecretReason(secret: string): string | undefined {
  if (Buffer.byteLength(secret) < 32) return 'must be at least 32 bytes long';
  if (EXAMPLE_SECRETS.includes(secret)) return 'must not be an example or development value';
  if (new Set(secret).size < 10)
    return 'is low-entropy (too few distinct characters); use e.g. `openssl rand -base64 48`';
  return undefined;
}

function adminFrom(env: Env, problems: string[]): AppConfig['bootstrapAdmin'] {
  const email = env.ADMIN_EMAIL?.trim().toLowerCase();
  const password = env.ADMIN_PASSWORD;
  if (!email && !password) return undefined;
  if (!email || !password) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
    return undefined;
  }
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) problems.push('ADMIN_EMAIL must be an email address');
  const bytes = Buffer.byteLength(password);
  if (bytes < 8 || bytes > 72) problems.push('ADMIN_PASSWORD must be 8 to 72 bytes');
  return { email, password };
}

/**
 * Mail settings. In production the transport must deliver (`smtp` or `ses`) and the sender must
 * be set: a reset link that is only written to a file or a log never reaches anyone. `required`
 * is false for a production process that sends no mail (`db:create-table`).
 */
/**
 * Past an address's budget a mailed-link request answers 202 and mails nothing (review 22a L4,
 * review 23 M-1): that is harmless only while the last link mailed this window still works until
 * the window ends. So a mailed link must live at least as long as each per-address window that is
 * on (review 23 L-4); shorter, a stranger who spends the budget early leaves the owner with no
 * working link and no 429 telling them to wait.
 */
function linkLifetimeProblems({ auth, rateLimits }: AppConfig): string[] {
  const ttl = auth.actionTokenTtlSeconds;
  const windows: [string, RateRule][] = [
    ['PASSWORD_RESET', rateLimits.passwordResetPerEmail],
    ['VERIFICATION', rateLimits.verificationPerEmail],
    ['EMAIL_CHANGE', rateLimits.emailChangePerEmail],
  ];
  return windows
    .filter(([, rule]) => rule.max > 0 && rule.windowSeconds > ttl)
    .map(
      ([action, rule]) =>
        `ACTION_TOKEN_TTL_SECONDS (${ttl}) must be at least ${action}_RATE_WINDOW_SECONDS (${rule.windowSeconds}) ` +
        `while ${action}_RATE_MAX_PER_EMAIL is on: past an address's budget a request mails nothing, so the links ` +
        'mailed in a window must live until it ends',
    );
}

function mailFrom(
  env: Env,
  nodeEnv: NodeEnv,
  required: boolean,
  str: (name: string, fallback: string) => string,
  oneOf: <T extends string>(name: string, allowed: readonly T[], fallback: T) => T,
  problems: string[],
): MailConfig {
  const production = nodeEnv === 'production';
  const defaultTransport: MailTransport = nodeEnv === 'development' ? 'file' : 'log';
  const transport = oneOf('MAIL_TRANSPORT', MAIL_TRANSPORTS, defaultTransport);
  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (required && (transport === 'file' || transport === 'log')) {
    problems.push(
      `MAIL_TRANSPORT must be smtp or ses in production (${env.MAIL_TRANSPORT?.trim() ? `got "${transport}"` : `unset: the default there is "${transport}"`}): ` +
        'the file and log transports deliver no mail',
    );
  }
  if (transport === 'smtp') {
    if (!smtpUrl) problems.push('SMTP_URL is required when MAIL_TRANSPORT=smtp (e.g. smtp://127.0.0.1:1025)');
    else if (!/^smtps?:\/\/[^/\s]+/.test(smtpUrl)) problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
  }
  const from = str('MAIL_FROM', production ? '' : 'Publishing API <no-reply@localhost>');
  if (required && from === '') problems.push('MAIL_FROM is required in production (the sender address of mails)');
  return { transport, from, smtpUrl, dir: str('MAIL_DIR', '.data/mail') };
}

/** `CORS_ORIGINS`: comma-separated exact origins such as `https://app.example.com`; no wildcards. */
function corsOriginsFrom(raw: string, problems: string[]): string[] {
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let valid = false;
    try {
      const url = new URL(origin);
      valid = (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin && !origin.includes('*');
    } catch {
      valid = false;
    }
    if (!valid)
      problems.push(`CORS_ORIGINS entries must be exact origins like https://app.example.com (got "${origin}")`);
  }
  return origins;
}

function metricsTokenFrom(raw: string | undefined, problems: string[]): string | undefined {
  const token = raw?.trim();
  if (!token) return undefined;
  if (token.length < 16) problems.push('METRICS_TOKEN must be at least 16 characters');
  return token;
}

export interface LoadConfigOptions {
  /**
   * `table`: the caller only works on the table (`db:create-table`; `db:migrate`, `db:export`,
   * `db:import` and `db:check-counts` on its items), so production's requirements for serving
   * (`JWT_SECRET`, a delivering `MAIL_TRANSPORT`, `MAIL_FROM`, `PUBLIC_URL`) do not apply; a value
   * that is set is still checked.
   */
  purpose?: 'app' | 'table';
}

/** Reads and validates the configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): AppConfig {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = str(name, fallback);
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name, String(fallback));
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name, String(fallback)).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (name: string, fallback: string | undefined): string | undefined => {
    const raw = env[name]?.trim() ? env[name].trim() : fallback;
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
    } catch {
      problems.push(`${name} must be an http(s) URL (got "${raw}")`);
    }
    return raw.replace(/\/+$/, '');
  };

  const nodeEnv = oneOf('NODE_ENV', NODE_ENVS, 'development');
  const production = nodeEnv === 'production';
  // What production requires of a process that serves (signs tokens, mails links); not of db:create-table.
  const servingInProduction = production && options.purpose !== 'table';
  const port = int('PORT', 3000, 0, 65535);

  const jwtSecret = str('JWT_SECRET', production ? '' : DEV_SECRET);
  if (Buffer.byteLength(jwtSecret) < 32 && (servingInProduction || jwtSecret !== '')) {
    problems.push(
      production && jwtSecret === ''
        ? 'JWT_SECRET is required in production (at least 32 bytes)'
        : 'JWT_SECRET must be at least 32 bytes long',
    );
  }
  if (production && jwtSecret !== '') {
    const weak = weakSecretReason(jwtSecret);
    if (weak) problems.push(`JWT_SECRET in production ${weak}`);
  }

  const bcryptCost = int('BCRYPT_COST', nodeEnv === 'test' ? 4 : 12, 4, 15);
  if (production && bcryptCost < 10) problems.push('BCRYPT_COST must be at least 10 in production');

  const cursorSecret = str('CURSOR_SECRET', jwtSecret);
  // Unset, it is JWT_SECRET, whose own check has already named the problem (review 18c: a short
  // JWT_SECRET also reported a CURSOR_SECRET nobody had set).
  if (Buffer.byteLength(cursorSecret) < 32 && env.CURSOR_SECRET?.trim()) {
    problems.push('CURSOR_SECRET must be at least 32 bytes long');
  } else if (production && env.CURSOR_SECRET?.trim()) {
    const weak = weakSecretReason(cursorSecret);
    if (weak) problems.push(`CURSOR_SECRET in production ${weak}`);
  }

  // A limit's max may be 0 (off); windows are at least a second.
  const rule = (name: string, action: string, scope: string, max: number, windowSeconds: number): RateRule => ({
    name,
    max: int(`${action}_RATE_MAX_PER_${scope}`, max, 0, 1_000_000),
    windowSeconds: int(`${action}_RATE_WINDOW_SECONDS`, windowSeconds, 1, 7 * 86400),
  });

  const tableName = str('DYNAMODB_TABLE_NAME', 'publishing');
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
    problems.push(`DYNAMODB_TABLE_NAME must be 3-255 characters of a-z, A-Z, 0-9, _ . - (got "${tableName}")`);
  }
  const endpoint = url('DYNAMODB_ENDPOINT', undefined);
  const embedded = !production && endpoint === undefined && bool('DYNAMODB_EMBEDDED', true);
  // The AWS SDK reads these itself, at the first DynamoDB call: a value other than exactly `true` or
  // `false`, or FIPS or dual-stack with an endpoint of our own (the embedded engine's too), failed
  // there, as a 500 on the first request, instead of here.
  // The endpoint the SDK will be given or find (DYNAMODB_ENDPOINT wins, as in `sdkEndpointOf`).
  const customEndpoint =
    endpoint !== undefined
      ? 'DYNAMODB_ENDPOINT'
      : embedded
        ? 'the embedded DynamoDB Local'
        : ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL'].find((name) => env[name]?.trim());
  for (const name of ['AWS_USE_FIPS_ENDPOINT', 'AWS_USE_DUALSTACK_ENDPOINT']) {
    const value = env[name];
    if (value === undefined) continue;
    if (value !== 'true' && value !== 'false') {
      problems.push(`${name} must be exactly true or false, as the AWS SDK reads it (got "${value}")`);
    } else if (value === 'true' && customEndpoint !== undefined) {
      problems.push(`${name}=true does not go with ${customEndpoint}: the AWS SDK takes no custom endpoint with it`);
    }
  }

  const mail = mailFrom(env, nodeEnv, servingInProduction, str, oneOf, problems);
  if (servingInProduction && !env.PUBLIC_URL?.trim()) {
    problems.push("PUBLIC_URL is required in production: mailed links point to the front end's pages there");
  }

  const config: AppConfig = {
    nodeEnv,
    port,
    publicUrl: url('PUBLIC_URL', `http://localhost:${port}`)!,
    mail,
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, production ? 'log' : 'debug'),
    cursorSecret,
    serverTiming: bool('SERVER_TIMING', !production),
    bodyLimit: `${int('BODY_LIMIT_KB', 256, 1, 10240)}kb`,
    docs: bool('API_DOCS', !production),
    httpsHeaders: bool('HTTPS_HEADERS', production),
    // issue 15: data model v2
    publicCacheSeconds: int('PUBLIC_CACHE_SECONDS', production ? 5 : 0, 0, 300),
    slugCacheSeconds: int('SLUG_CACHE_SECONDS', 30, 0, 3600),
    viewCounterShards: int('VIEW_COUNTER_SHARDS', 32, 1, 100),
    viewReadCacheSeconds: int('VIEW_READ_CACHE_SECONDS', production ? 1 : 0, 0, 60),
    viewRatePerClient: rule('view-client', 'VIEW', 'CLIENT', 300, 3600),
    likeDirectMaxPerSecond: int('LIKE_DIRECT_MAX_PER_SECOND', 10, 0, 50),
    commentDirectMaxPerSecond: int('COMMENT_DIRECT_MAX_PER_SECOND', 5, 0, 50),
    // issue 12: exposure and CPU limits
    host: str('HOST', production ? '0.0.0.0' : '127.0.0.1'),
    corsOrigins: corsOriginsFrom(str('CORS_ORIGINS', ''), problems),
    corsCredentials: bool('CORS_CREDENTIALS', false),
    metricsToken: metricsTokenFrom(env.METRICS_TOKEN, problems),
    passwordHashConcurrency: int('PASSWORD_HASH_CONCURRENCY', Math.max(1, availableParallelism() - 1), 1, 256),
    passwordHashNice: int('PASSWORD_HASH_NICE', 10, 0, 19),
    passwordHashMaxWaitMs: int('PASSWORD_HASH_MAX_WAIT_MS', 60_000, 100, 600_000),
    dynamo: {
      region: str('AWS_REGION', str('AWS_DEFAULT_REGION', 'us-east-1')),
      endpoint,
      tableName,
      embedded,
      embeddedDataDir: str('DYNAMODB_EMBEDDED_DATA_DIR', '.data/dynamodb'),
      createTable: bool('DYNAMODB_CREATE_TABLE', !production),
      connectionTimeoutMs: int('DYNAMODB_CONNECT_TIMEOUT_MS', 2000, 100, 60000),
      requestTimeoutMs: int('DYNAMODB_REQUEST_TIMEOUT_MS', 5000, 100, 120000),
      maxAttempts: int('DYNAMODB_MAX_ATTEMPTS', 3, 1, 10),
      // issue 12: bounded concurrency, start-up wait, in-memory embedded engine
      maxConcurrency: int('DYNAMODB_MAX_CONCURRENCY', endpoint === undefined && !production ? 8 : 64, 1, 1024),
      maxQueue: int('DYNAMODB_MAX_QUEUE', 1000, 0, 100000),
      startupWaitSeconds: int('DYNAMODB_STARTUP_WAIT_SECONDS', 30, 0, 3600),
      embeddedInMemory: bool('DYNAMODB_EMBEDDED_IN_MEMORY', false),
      client: oneOf('DYNAMODB_CLIENT', DYNAMODB_CLIENT_KINDS, 'lean'),
    },
    auth: {
      jwtSecret,
      jwtIssuer: str('JWT_ISSUER', 'publishing-api'),
      jwtAudience: str('JWT_AUDIENCE', 'publishing-api-clients'),
      accessTokenTtlSeconds: int('JWT_ACCESS_TTL_SECONDS', 900, 30, 86400),
      refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL_SECONDS', 30 * 86400, 300, 365 * 86400),
      bcryptCost,
      actionTokenTtlSeconds: int('ACTION_TOKEN_TTL_SECONDS', 3600, 60, 7 * 86400),
      sessionMaxAgeSeconds: int('SESSION_MAX_AGE_SECONDS', 90 * 86400, 60, 3650 * 86400),
      maxSessionsPerUser: int('MAX_SESSIONS_PER_USER', 20, 1, 1000),
      pendingAccountTtlHours: int('PENDING_ACCOUNT_TTL_HOURS', 72, 1, 365 * 24),
      emailChangeRevertTtlHours: int('EMAIL_CHANGE_REVERT_TTL_HOURS', 168, 1, 30 * 24),
    },
    rateLimits: {
      loginPerAccount: rule('login-account', 'LOGIN', 'ACCOUNT', 10, 900),
      loginPerIp: rule('login-ip', 'LOGIN', 'IP', 100, 900),
      registerPerIp: rule('register-ip', 'REGISTER', 'IP', 20, 3600),
      passwordResetPerIp: rule('reset-ip', 'PASSWORD_RESET', 'IP', 20, 3600),
      passwordResetPerEmail: rule('reset-email', 'PASSWORD_RESET', 'EMAIL', 5, 3600),
      verificationPerIp: rule('verify-ip', 'VERIFICATION', 'IP', 20, 3600),
      verificationPerEmail: rule('verify-email', 'VERIFICATION', 'EMAIL', 5, 3600),
      // review 23 M-1: the confirmation mail goes to an address the account does not hold yet
      emailChangePerIp: rule('email-change-ip', 'EMAIL_CHANGE', 'IP', 20, 3600),
      emailChangePerEmail: rule('email-change-email', 'EMAIL_CHANGE', 'EMAIL', 3, 3600),
      passwordCheckPerAccount: rule('password-check', 'PASSWORD_CHECK', 'ACCOUNT', 10, 900),
      refreshPerSession: rule('refresh-session', 'REFRESH', 'SESSION', 60, 900),
      linkRedeemPerIp: rule('link-redeem-ip', 'LINK_REDEEM', 'IP', 30, 900),
      // Named by the issue that asked for it; the window is a minute unless a test shortens the odds.
      contentPerAccount: {
        name: 'content-account',
        max: int('CONTENT_RATE_LIMIT_PER_MINUTE', 120, 0, 1_000_000),
        windowSeconds: int('CONTENT_RATE_WINDOW_SECONDS', 60, 1, 7 * 86400),
      },
      // issue 17: a rename costs the stream processor a write per post, link and comment
      renamePerAccount: rule('rename-account', 'RENAME', 'ACCOUNT', 5, 3600),
      // issue 18: a publish or withdrawal costs the stream processor a write per follower
      publishPerAuthor: rule('publish-author', 'PUBLISH', 'AUTHOR', 30, 3600),
      tagCreatePerAccount: rule('tag-create-account', 'TAG_CREATE', 'ACCOUNT', 50, 3600),
      // review 3, #3: an export reads everything the account holds
      exportPerAccount: rule('export-account', 'EXPORT', 'ACCOUNT', 5, 3600),
    },
    trustProxy: int('TRUST_PROXY_HOPS', 0, 0, 10),
    bootstrapAdmin: adminFrom(env, problems),
    comments: {
      maxDepth: int('COMMENT_MAX_DEPTH', 3, 1, 10),
      autoApprove: oneOf('COMMENT_AUTO_APPROVE', ['all', 'verified', 'staff'] as const, 'verified'),
    },
    exportMaxItems: int('EXPORT_MAX_ITEMS', 10_000, 1, 1_000_000),
    exportMaxContentChars: int('EXPORT_MAX_CONTENT_CHARS', 50 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    // --- data lifecycle (issue 14) ---
    migrations: { allowOnlinePending: bool('MIGRATIONS_ALLOW_ONLINE_PENDING', false) },
    tableProtection: {
      pointInTimeRecovery: bool('DYNAMODB_PITR', production),
      deletionProtection: bool('DYNAMODB_DELETION_PROTECTION', production),
    },
    // --- change streams (issue 17) ---
    streamWorker: {
      mode: oneOf('STREAM_WORKER', STREAM_WORKER_MODES, nodeEnv === 'development' ? 'inline' : 'off'),
      stallSeconds: int('STREAM_WORKER_STALL_SECONDS', 60, 5, 3600),
      maxAttempts: int('STREAM_WORKER_MAX_ATTEMPTS', 5, 1, 100),
      transientMaxSeconds: int('STREAM_WORKER_TRANSIENT_MAX_SECONDS', 3600, 60, 72_000),
      deferralMaxSeconds: int('STREAM_WORKER_DEFERRAL_MAX_SECONDS', 900, 60, 72_000),
      metricsPort: int('WORKER_METRICS_PORT', 0, 0, 65535),
      renameItemsPerRun: int('STREAM_RENAME_ITEMS_PER_RUN', 1000, 1, 100_000),
      cascadeLikesPerRun: int('STREAM_CASCADE_LIKES_PER_RUN', 500, 1, 100_000),
      fanInFollowersPerStep: int('STREAM_FAN_IN_FOLLOWERS_PER_STEP', 100, 1, 1000),
    },
    webhooks: webhooksFrom(env, str, int, production, problems),
    // --- follows and the personal feed (issue 18) ---
    feed: { fanoutMaxFollowers: int('FEED_FANOUT_MAX_FOLLOWERS', 10_000, 0, 1_000_000) },
    conduitApi: bool('CONDUIT_API', true),
    conduitPublicFavorites: bool('CONDUIT_PUBLIC_FAVORITES', true),
  };
  problems.push(...linkLifetimeProblems(config));
  // A shared window variable is read once per limit that uses it: report each problem once.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config;
}
