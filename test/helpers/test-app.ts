import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { nanoid } from 'nanoid';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp, type CreateAppOptions } from '../../src/app.setup.js';
import { SettableClock } from '../../src/common/clock/clock.js';
import { type AppConfig, loadConfig } from '../../src/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../src/dynamo/dynamo-client.factory.js';
import { Keys } from '../../src/dynamo/keys.js';
import { LIKE_SHARDS } from '../../src/dynamo/sharding.js';
import { ensureTable } from '../../src/dynamo/table.setup.js';
import { InMemoryMailer } from '../../src/mail/in-memory.mailer.js';
import { StreamPoller } from '../../src/stream/stream-poller.js';
import type { UserWithPassword } from '../../src/users/user.entity.js';
import { TEST_REQUEST_TIMEOUT_MS } from './built-scripts.js';
import { placeNewTable, regionOf } from './databases.js';
import { type OpenApiDocument, OpenApiValidator, validatingAgent, type ValidatingAgent } from './openapi.js';
import { atScale } from './scale.js';

/**
 * The limits added for account security are off (0) in ordinary suites: they register and write
 * far more from one IP than a person would, and 50 concurrent ADDs on one counter item are slow
 * on DynamoDB Local. `test/rate-limits.e2e-spec.ts` turns each on with small thresholds.
 */
const RELAXED_LIMITS: Record<string, string> = {
  REGISTER_RATE_MAX_PER_IP: '0',
  PASSWORD_RESET_RATE_MAX_PER_IP: '0',
  PASSWORD_RESET_RATE_MAX_PER_EMAIL: '0',
  VERIFICATION_RATE_MAX_PER_IP: '0',
  VERIFICATION_RATE_MAX_PER_EMAIL: '0',
  EMAIL_CHANGE_RATE_MAX_PER_IP: '0',
  EMAIL_CHANGE_RATE_MAX_PER_EMAIL: '0',
  PASSWORD_CHECK_RATE_MAX_PER_ACCOUNT: '0',
  REFRESH_RATE_MAX_PER_SESSION: '0',
  LINK_REDEEM_RATE_MAX_PER_IP: '0',
  TAG_CREATE_RATE_MAX_PER_ACCOUNT: '0',
  CONTENT_RATE_LIMIT_PER_MINUTE: '0',
  // 5 written renames an hour (a PATCH that loses its If-Match race counts nothing): off, as the other limits.
  RENAME_RATE_MAX_PER_ACCOUNT: '0',
  PUBLISH_RATE_MAX_PER_AUTHOR: '0',
  EXPORT_RATE_MAX_PER_ACCOUNT: '0',
};

/** Log level and destination of the apps a test file creates, unless a call says otherwise. */
let testLogging: Pick<CreateAppOptions, 'logLevel' | 'logStream'> = {};

/** Sets the log level and stream for apps created from now on in this test file (log-capture tests). */
export function setTestLogging(logging: Pick<CreateAppOptions, 'logLevel' | 'logStream'>): void {
  testLogging = logging;
}

/**
 * Bound of the tests that seed thousands of items to show that a page's cost does not grow
 * (under 25 s each on an idle 2-core machine, up to 8x that on a loaded one). Nothing waits
 * for it; it only bounds.
 */
export const SEEDING_TIMEOUT_MS = atScale(240_000, 900_000);

export interface TestApp {
  app: NestExpressApplication;
  /** Requests whose responses are all checked against the OpenAPI document. */
  api: ValidatingAgent;
  /** Plain supertest, for what the document cannot describe (a non-JSON body, raw headers). */
  http: TestAgent;
  config: AppConfig;
  /** The app's clock: follows the machine's time until a test sets or advances it. */
  clock: SettableClock;
  /** Every message the app sent. */
  mailer: InMemoryMailer;
  /** Checks responses against the app's own OpenAPI document. */
  openapi: OpenApiValidator;
  /** Direct access to the suite's table, for assertions on what was (not) written. */
  db: DynamoDBDocumentClient;
  /** The low-level client under `db`, in the table's own database (for the data commands' functions). */
  client: DynamoDBClient;
  tableName: string;
  /** Every item of the suite's table (tests only: the app itself never scans). */
  allItems(): Promise<Record<string, unknown>[]>;
  getItem(PK: string, SK: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Runs the stream processor until the stream is drained: it sends every mail asked for so far
   * (requests never send mail themselves, issue 17). It runs every other effect of the stream too.
   */
  mailSent(): Promise<void>;
  queryPartition(PK: string): Promise<Record<string, unknown>[]>;
  /** A post's like items, from its like shards (src/posts/like-shards.ts; not its counter shards). */
  postLikes(postId: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * The OpenAPI validators of this file's apps, by the routes an app serves. An app builds its
 * document when `/docs-json` is first asked for (about 0.3 s of CPU: Swagger reads every route and
 * DTO), and the validator compiles each response schema on first use: a second app of the same
 * build that serves the same routes serves the same document, so it reuses the first one's.
 */
const validators = new Map<string, Promise<OpenApiValidator>>();

/** Every route the app's router serves (method and path), as one key. */
function servedRoutes(app: NestExpressApplication): string {
  const { router } = app.getHttpAdapter().getInstance() as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  return router.stack
    .flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((m) => `${m} ${layer.route!.path}`) : []))
    .sort()
    .join('\n');
}

function validatorFor(app: NestExpressApplication, http: TestAgent): Promise<OpenApiValidator> {
  const routes = servedRoutes(app);
  let validator = validators.get(routes);
  if (!validator) {
    validator = runWideDocument(routes, http);
    validators.set(routes, validator);
    // A failed fetch is not kept: the next app asks its own `/docs-json` again.
    validator.catch(() => validators.delete(routes));
  }
  return validator;
}

/**
 * The document of apps serving `routes`, fetched once per Jest run: the first file that needs it
 * writes what `/docs-json` served to the run's directory (TEST_RUN_DIR, test/global-setup.mjs), and
 * later files read it there. Building the document costs an app 0.3-0.4 s of CPU (Swagger reads
 * every route and DTO), in every e2e file; all files of a run load the same `dist/` build, so they
 * get the same document for the same routes (docs/testing.md, "Suite time", session 16).
 */
async function runWideDocument(routes: string, http: TestAgent): Promise<OpenApiValidator> {
  const runDir = process.env.TEST_RUN_DIR;
  if (!runDir) return OpenApiValidator.fromApp(http);
  const file = join(runDir, `openapi-${createHash('sha256').update(routes).digest('hex').slice(0, 16)}.json`);
  try {
    return new OpenApiValidator(JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument);
  } catch {
    const validator = await OpenApiValidator.fromApp(http);
    // Written whole, then renamed: a file of another worker never reads half a document.
    const partial = `${file}.${process.pid}.${nanoid(6)}`;
    writeFileSync(partial, JSON.stringify(validator.document));
    renameSync(partial, file);
    return validator;
  }
}

/**
 * Boots the real application (the same `createApp` as `main.ts`) against the run's DynamoDB
 * Local, on a table of its own so that suites can run in parallel.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: Pick<CreateAppOptions, 'logLevel' | 'logStream'> & {
    clock?: SettableClock;
    /** `configured`: the transport MAIL_TRANSPORT names (then `mailer` stays empty). Default: in memory. */
    mail?: 'memory' | 'configured';
    /** Another app's table: a second instance (a restart) over the same data. */
    tableName?: string;
  } = {},
): Promise<TestApp> {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TEST_DYNAMODB_ENDPOINT is not set: run the tests through `npm test`');
  const tableName = options.tableName ?? `test-${nanoid(10)}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: endpoint,
    // A new table's own database in the run's engine; another app's table, where that one is (./databases.ts).
    AWS_REGION: options.tableName ? regionOf(tableName) : placeNewTable(tableName),
    DYNAMODB_TABLE_NAME: tableName,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    DYNAMODB_REQUEST_TIMEOUT_MS: TEST_REQUEST_TIMEOUT_MS,
    ...RELAXED_LIMITS,
    ...env,
  });
  const client: DynamoDBClient = createDynamoClient(config.dynamo);
  // A second instance on another app's table has no creator to wait for: that app made the table
  // and wrote its baseline long before, and a test that then imported older data into it (no
  // baseline, on purpose) would otherwise wait 15 s on the young table (src/dynamo/table.setup.ts).
  await ensureTable({ client, tableName, baselineWait: options.tableName ? { maxWaitMs: 0 } : undefined });
  const db = createDocumentClient(client);

  const mailer = new InMemoryMailer();
  const clock = options.clock ?? new SettableClock();
  const app = await createApp(config, {
    logLevel: options.logLevel ?? testLogging.logLevel ?? 'error',
    logStream: options.logStream ?? testLogging.logStream,
    mailer: options.mail === 'configured' ? undefined : mailer,
    clock,
  });
  await app.init();
  const http = request(app.getHttpServer());
  const openapi = await validatorFor(app, http);

  const queryPartition = async (PK: string): Promise<Record<string, unknown>[]> => {
    const result = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': PK },
        ConsistentRead: true,
      }),
    );
    return result.Items ?? [];
  };
  return {
    app,
    api: validatingAgent(http, openapi),
    http,
    config,
    clock,
    mailer,
    openapi,
    db,
    client,
    tableName,
    async allItems() {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    },
    async mailSent() {
      await app.get(StreamPoller).drain();
    },
    async getItem(PK, SK) {
      return (await db.send(new GetCommand({ TableName: tableName, Key: { PK, SK }, ConsistentRead: true }))).Item;
    },
    queryPartition,
    async postLikes(postId) {
      const shards = await Promise.all(
        Array.from({ length: LIKE_SHARDS }, (_, n) => queryPartition(Keys.postLikeShardPartition(postId, n))),
      );
      return shards.flat().filter((item) => String(item.SK).startsWith(Keys.likePrefix));
    },
    async close() {
      await app.close();
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      client.destroy();
    },
  };
}

/**
 * A user as the users repository stores one, for seeding many at once with `toUserItem` (active,
 * verified, role `user`, a placeholder password hash that no password matches).
 */
export const seededUser = (id: string, at: string, overrides: Partial<UserWithPassword> = {}): UserWithPassword => ({
  id,
  email: `${id}@seed.example`,
  username: `seed-${id}`.toLowerCase(),
  role: 'user',
  status: 'active',
  emailVerified: true,
  loginCount: 0,
  createdAt: at,
  updatedAt: at,
  version: 1,
  passwordHash: 'x',
  ...overrides,
});

/**
 * Sends an idempotent request again while it answers 503, as a client following `Retry-After`
 * would (at most `attempts` times): under heavy concurrency on one item, or on a loaded machine,
 * the server may run out of its own retries or of its time budget. A 503 can come after the write
 * committed, so use it only for requests whose repetition changes nothing.
 */
export async function retryingUnavailable<R extends { status: number }>(
  send: () => PromiseLike<R>,
  attempts = 5,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const res = await send();
    if (res.status !== 503 || attempt === attempts) return res;
  }
}

/** Parses `Server-Timing: db;dur=..;desc="dynamodb calls=N rcu=R wcu=W"`. */
export function dynamoCost(res: { headers: Record<string, string | string[] | undefined> }) {
  const header = String(res.headers['server-timing'] ?? '');
  const match = /calls=(\d+) rcu=([\d.]+) wcu=([\d.]+)/.exec(header);
  if (!match) throw new Error(`No DynamoDB Server-Timing entry in "${header}"`);
  return { calls: Number(match[1]), rcu: Number(match[2]), wcu: Number(match[3]) };
}

export interface SignedIn {
  accessToken: string;
  refreshToken: string;
  userId: string;
  email: string;
  password: string;
  /** `Authorization: Bearer ...` header value. */
  bearer: string;
}

let userCounter = 0;

/** Registers a fresh user (registration signs in) and returns its tokens. */
export async function signUp(
  t: TestApp,
  overrides: { email?: string; password?: string; username?: string } = {},
): Promise<SignedIn> {
  const email = overrides.email ?? `user${++userCounter}-${nanoid(6).toLowerCase()}@example.com`;
  const password = overrides.password ?? 'password-1234';
  const res = await t.api
    .post('/api/v1/auth/register')
    .send({ email, password, ...(overrides.username ? { username: overrides.username } : {}) });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { accessToken: string; refreshToken: string; user: { id: string } };
  return { ...body, userId: body.user.id, email, password, bearer: `Bearer ${body.accessToken}` };
}

/** Creates a post of `author`'s and publishes it; its id. */
export async function publishPost(t: TestApp, author: SignedIn, title: string): Promise<string> {
  const post = (
    await t.api.post('/api/v1/posts').set('authorization', author.bearer).send({ title, content: 'x' }).expect(201)
  ).body as { id: string };
  await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', author.bearer).expect(200);
  return post.id;
}

/**
 * Sets attributes of a user item directly in the table, for states no API produces in one
 * step (a suspended user in an auth test). It bypasses the admin counter: use the admin API
 * where the count of admins matters.
 */
export async function setUserAttributes(
  t: TestApp,
  userId: string,
  attributes: { role?: string; status?: string; emailVerified?: boolean },
): Promise<void> {
  const entries = Object.entries(attributes);
  await t.db.send(
    new UpdateCommand({
      TableName: t.tableName,
      Key: { PK: `USER#${userId}`, SK: 'USER' },
      UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#a${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
    }),
  );
}

/** The bootstrap admin of `createTestApp(ADMIN_ENV)`. */
export const ADMIN_ENV = { ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'root-password-1' };

/** Signs in as the bootstrap admin (the app must be created with `ADMIN_ENV`). */
export async function signInAdmin(t: TestApp): Promise<SignedIn> {
  const res = await t.api
    .post('/api/v1/auth/login')
    .send({ email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD });
  if (res.status !== 200) throw new Error(`admin sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { accessToken: string; refreshToken: string; user: { id: string } };
  return {
    ...body,
    userId: body.user.id,
    email: ADMIN_ENV.ADMIN_EMAIL,
    password: ADMIN_ENV.ADMIN_PASSWORD,
    bearer: `Bearer ${body.accessToken}`,
  };
}

/** A fresh user given a role through the admin API (so the admin count stays exact). */
export async function signUpWithRole(
  t: TestApp,
  admin: SignedIn,
  role: 'user' | 'moderator' | 'admin',
): Promise<SignedIn> {
  const user = await signUp(t);
  if (role !== 'user') {
    const res = await t.api
      .patch(`/api/v1/users/${user.userId}/role`)
      .set('authorization', admin.bearer)
      .send({ role });
    if (res.status !== 200) throw new Error(`role change failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return user;
}

/**
 * Drains the stream through a record that fails once (a mail whose send failed: the first drain
 * throws), runs `between`, then drains again once the shard's backoff has passed on the test clock
 * (reset after).
 */
export async function mailSentOnRetry(t: TestApp, between?: () => Promise<unknown>): Promise<void> {
  const first = await t.mailSent().then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(first instanceof Error && /keeps failing/.test(first.message)))
    throw new Error(`the first drain did not fail on a record: ${String(first)}`);
  await between?.();
  t.clock.advance(60_000); // past the shard's backoff
  try {
    await t.mailSent();
  } finally {
    t.clock.reset();
  }
}

/** Confirms the user's email with the link the app mailed at registration. */
export async function verifyEmail(t: TestApp, user: SignedIn): Promise<void> {
  await t.mailSent();
  const token = t.mailer.tokenFor(user.email, 'email_verification');
  if (!token) throw new Error(`no verification mail for ${user.email}`);
  const res = await t.api.post('/api/v1/auth/verify-email/confirm').send({ token });
  if (res.status !== 204) throw new Error(`verification failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Asks for an email change (`POST /users/me/email`, 202) and returns the token of the confirmation
 * link mailed to the new address (review 22a M3: the account moves only when it is used).
 */
export async function requestEmailChange(t: TestApp, user: SignedIn, email: string): Promise<string> {
  const res = await t.api
    .post('/api/v1/users/me/email')
    .set('authorization', user.bearer)
    .send({ email, password: user.password });
  if (res.status !== 202) throw new Error(`email change request failed: ${res.status} ${JSON.stringify(res.body)}`);
  await t.mailSent();
  const token = t.mailer.tokenFor(email, 'email_change');
  if (!token) throw new Error(`no email_change mail for ${email}`);
  return token;
}

/** Uses an email change's confirmation link (`POST /auth/email-change/confirm`). */
export const confirmEmailChange = (t: TestApp, token: string | undefined) =>
  t.api.post('/api/v1/auth/email-change/confirm').send({ token });

/** Moves the account to `email` as its owner would: the change asked for, then confirmed from the new address. */
export async function moveEmail(t: TestApp, user: SignedIn, email: string): Promise<void> {
  const res = await confirmEmailChange(t, await requestEmailChange(t, user, email));
  if (res.status !== 204)
    throw new Error(`email change confirmation failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A log destination that keeps every line, parsed (pass it as `logStream`). */
export class LogCapture {
  readonly raw: string[] = [];

  write(line: string): void {
    this.raw.push(line);
  }

  get lines(): Record<string, unknown>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  get text(): string {
    return this.raw.join('');
  }
}
