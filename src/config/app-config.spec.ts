import { ConfigError, loadConfig } from './app-config.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

/** What production needs besides the secret: a delivering mail transport, a sender, the front end's URL. */
const PRODUCTION_MAIL = {
  MAIL_TRANSPORT: 'ses',
  MAIL_FROM: 'Publishing <no-reply@example.com>',
  PUBLIC_URL: 'https://app.example.com',
};

const STRONG = 'kq3V9x_Lm2Rt8ZpYw4Nc7Hb1Jd6Fs0Ge5Ua';

describe('loadConfig', () => {
  it('has working defaults for development, with the embedded engine', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.dynamo.embedded).toBe(true);
    expect(config.dynamo.createTable).toBe(true);
    expect(config.auth.bcryptCost).toBe(12);
    expect(config.serverTiming).toBe(true);
  });

  it('uses an explicit endpoint instead of the embedded engine', () => {
    const config = loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000' });
    expect(config.dynamo.embedded).toBe(false);
    expect(config.dynamo.endpoint).toBe('http://localhost:8000');
  });

  it('refuses at start what the AWS SDK would refuse at the first call: FIPS or dual-stack with an endpoint of ours, a value not exactly true or false', () => {
    const endpoint = { DYNAMODB_ENDPOINT: 'http://localhost:8000' };
    expect(problemsOf({ ...endpoint, AWS_USE_FIPS_ENDPOINT: 'true' })).toEqual([
      'AWS_USE_FIPS_ENDPOINT=true does not go with DYNAMODB_ENDPOINT: the AWS SDK takes no custom endpoint with it',
    ]);
    expect(problemsOf({ AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toEqual([
      'AWS_USE_DUALSTACK_ENDPOINT=true does not go with the embedded DynamoDB Local: the AWS SDK takes no custom endpoint with it',
    ]);
    expect(problemsOf({ ...endpoint, AWS_USE_FIPS_ENDPOINT: 'TRUE' })).toEqual([
      'AWS_USE_FIPS_ENDPOINT must be exactly true or false, as the AWS SDK reads it (got "TRUE")',
    ]);
    expect(() =>
      loadConfig({ ...endpoint, AWS_USE_FIPS_ENDPOINT: 'false', AWS_USE_DUALSTACK_ENDPOINT: 'false' }),
    ).not.toThrow();
    expect(
      problemsOf({ DYNAMODB_EMBEDDED: 'false', AWS_ENDPOINT_URL: 'http://x:4566', AWS_USE_FIPS_ENDPOINT: 'true' }),
    ).toEqual([
      'AWS_USE_FIPS_ENDPOINT=true does not go with AWS_ENDPOINT_URL: the AWS SDK takes no custom endpoint with it',
    ]);
    // On AWS (no endpoint of ours) both are the SDK's to use.
    expect(() => loadConfig({ DYNAMODB_EMBEDDED: 'false', AWS_USE_FIPS_ENDPOINT: 'true' })).not.toThrow();
  });

  it('names each bad variable', () => {
    const problems = problemsOf({ NODE_ENV: 'staging', PORT: 'eighty', DYNAMODB_ENDPOINT: 'ftp://x' });
    expect(problems.join('\n')).toMatch(/NODE_ENV/);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/DYNAMODB_ENDPOINT/);
  });

  it('requires a strong JWT secret and real AWS in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' }).join('\n')).toMatch(/JWT_SECRET is required/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' }).join('\n')).toMatch(
      /JWT_SECRET must be at least 32 bytes/,
    );
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG, ...PRODUCTION_MAIL });
    expect(config.dynamo.embedded).toBe(false);
    expect(config.dynamo.createTable).toBe(false);
    expect(config.serverTiming).toBe(false);
    expect(config.auth.bcryptCost).toBeGreaterThanOrEqual(10);
  });

  it("lets db:create-table run in production without what only serving needs: JWT secret, mail sender, front end's URL", () => {
    const table = { NODE_ENV: 'production', AWS_REGION: 'eu-west-1', DYNAMODB_TABLE_NAME: 'publishing' };
    expect(problemsOf(table)).toEqual([
      'JWT_SECRET is required in production (at least 32 bytes)',
      expect.stringMatching(/^MAIL_TRANSPORT must be smtp or ses in production/),
      'MAIL_FROM is required in production (the sender address of mails)',
      expect.stringMatching(/^PUBLIC_URL is required in production/),
    ]);
    const config = loadConfig(table, { purpose: 'table' });
    expect(config.dynamo).toMatchObject({ tableName: 'publishing', region: 'eu-west-1', embedded: false });
    expect(config.tableProtection).toEqual({ pointInTimeRecovery: true, deletionProtection: true });
    // A value that is set is still checked.
    expect(() => loadConfig({ ...table, JWT_SECRET: 'short' }, { purpose: 'table' })).toThrow(
      /JWT_SECRET must be at least 32 bytes/,
    );
    expect(() => loadConfig({ ...table, PUBLIC_URL: 'ftp://x' }, { purpose: 'table' })).toThrow(/PUBLIC_URL must be/);
  });

  it('names a short CURSOR_SECRET only when it is set: unset, it is JWT_SECRET, named already (review 18c)', () => {
    expect(problemsOf({ JWT_SECRET: 'abc' })).toEqual(['JWT_SECRET must be at least 32 bytes long']);
    expect(problemsOf({ CURSOR_SECRET: 'abc' })).toEqual(['CURSOR_SECRET must be at least 32 bytes long']);
  });

  it('refuses a weak bcrypt cost in production', () => {
    expect(
      problemsOf({ NODE_ENV: 'production', JWT_SECRET: STRONG, ...PRODUCTION_MAIL, BCRYPT_COST: '4' }).join('\n'),
    ).toMatch(/BCRYPT_COST/);
  });

  describe('mail', () => {
    it('writes mail to files in development and only notes it in tests', () => {
      expect(loadConfig({}).mail).toMatchObject({ transport: 'file', dir: '.data/mail' });
      expect(loadConfig({ NODE_ENV: 'test' }).mail.transport).toBe('log');
    });

    it('refuses in production a transport that does not deliver, naming the setting', () => {
      const base = { NODE_ENV: 'production', JWT_SECRET: STRONG, ...PRODUCTION_MAIL };
      expect(problemsOf({ ...base, MAIL_TRANSPORT: '' }).join('\n')).toMatch(
        /MAIL_TRANSPORT must be smtp or ses in production \(unset: the default there is "log"\)/,
      );
      expect(problemsOf({ ...base, MAIL_TRANSPORT: 'log' }).join('\n')).toMatch(/in production \(got "log"\)/);
      expect(problemsOf({ ...base, MAIL_TRANSPORT: 'file' }).join('\n')).toMatch(/MAIL_TRANSPORT must be smtp or ses/);
      expect(problemsOf({ ...base, MAIL_FROM: '' })).toEqual([
        'MAIL_FROM is required in production (the sender address of mails)',
      ]);
      expect(problemsOf({ ...base, PUBLIC_URL: '' }).join('\n')).toMatch(/PUBLIC_URL is required in production/);
      expect(loadConfig(base).mail).toMatchObject({ transport: 'ses', from: PRODUCTION_MAIL.MAIL_FROM });
    });

    it('needs an SMTP URL for the smtp transport', () => {
      expect(problemsOf({ MAIL_TRANSPORT: 'smtp' }).join('\n')).toMatch(/SMTP_URL is required/);
      expect(problemsOf({ MAIL_TRANSPORT: 'smtp', SMTP_URL: 'http://x' }).join('\n')).toMatch(/smtp:\/\//);
      expect(loadConfig({ MAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtp://127.0.0.1:1025' }).mail.smtpUrl).toBe(
        'smtp://127.0.0.1:1025',
      );
      expect(problemsOf({ MAIL_TRANSPORT: 'pigeon' }).join('\n')).toMatch(
        /MAIL_TRANSPORT must be one of file, smtp, ses, log/,
      );
    });
  });

  it.each([
    ['a repeated character', 'x'.repeat(40)],
    ['a repeated short word', 'abcabcabcabcabcabcabcabcabcabcabcabc'],
    ['the development default', 'dev-only-secret-change-me-0123456789abcdef'],
    ['the example value', 'change-me-to-a-long-random-string-of-32-bytes-or-more'],
  ])('refuses %s as JWT_SECRET in production', (_name, secret) => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: secret, ...PRODUCTION_MAIL }).join('\n')).toMatch(
      /JWT_SECRET in production/,
    );
  });

  it('reads every limit as <ACTION>_RATE_MAX_PER_<SCOPE> and <ACTION>_RATE_WINDOW_SECONDS, 0 turning one off', () => {
    const config = loadConfig({
      REGISTER_RATE_MAX_PER_IP: '3',
      REGISTER_RATE_WINDOW_SECONDS: '60',
      PASSWORD_RESET_RATE_MAX_PER_EMAIL: '0',
      CONTENT_RATE_LIMIT_PER_MINUTE: '7',
    });
    expect(config.rateLimits.registerPerIp).toMatchObject({ max: 3, windowSeconds: 60 });
    expect(config.rateLimits.passwordResetPerEmail.max).toBe(0);
    expect(config.rateLimits.contentPerAccount).toMatchObject({ max: 7, windowSeconds: 60 });
    expect(loadConfig({}).rateLimits.contentPerAccount.max).toBe(120);
    expect(problemsOf({ LOGIN_RATE_WINDOW_SECONDS: '0' })).toEqual([
      'LOGIN_RATE_WINDOW_SECONDS must be an integer from 1 to 604800 (got "0")',
    ]);
  });

  it('has the session and account defaults of the docs', () => {
    const { auth } = loadConfig({});
    expect(auth.sessionMaxAgeSeconds).toBe(90 * 86400);
    expect(auth.maxSessionsPerUser).toBe(20);
    expect(auth.pendingAccountTtlHours).toBe(72);
    expect(auth.emailChangeRevertTtlHours).toBe(168);
  });

  it('refuses mailed links shorter-lived than a per-address window that is on: past its budget a request mails nothing (review 23 L-4)', () => {
    expect(loadConfig({}).auth.actionTokenTtlSeconds).toBe(3600);
    expect(problemsOf({ ACTION_TOKEN_TTL_SECONDS: '900' })).toEqual(
      ['PASSWORD_RESET', 'VERIFICATION', 'EMAIL_CHANGE'].map(
        (action) =>
          `ACTION_TOKEN_TTL_SECONDS (900) must be at least ${action}_RATE_WINDOW_SECONDS (3600) while ${action}_RATE_MAX_PER_EMAIL is on: past an address's budget a request mails nothing, so the links mailed in a window must live until it ends`,
      ),
    );
    expect(
      problemsOf({
        ACTION_TOKEN_TTL_SECONDS: '1800',
        PASSWORD_RESET_RATE_WINDOW_SECONDS: '1800',
        VERIFICATION_RATE_MAX_PER_EMAIL: '0',
      }),
    ).toEqual([
      expect.stringMatching(
        /^ACTION_TOKEN_TTL_SECONDS \(1800\) must be at least EMAIL_CHANGE_RATE_WINDOW_SECONDS \(3600\)/,
      ),
    ]);
    // Equal lifetimes and windows, or the per-address rules off, are fine.
    expect(
      loadConfig({
        ACTION_TOKEN_TTL_SECONDS: '1800',
        PASSWORD_RESET_RATE_WINDOW_SECONDS: '1800',
        VERIFICATION_RATE_WINDOW_SECONDS: '600',
        EMAIL_CHANGE_RATE_MAX_PER_EMAIL: '0',
      }).auth.actionTokenTtlSeconds,
    ).toBe(1800);
  });

  it('reads EMAIL_CHANGE_REVERT_TTL_HOURS from 1 hour to 30 days, naming it when outside', () => {
    expect(loadConfig({ EMAIL_CHANGE_REVERT_TTL_HOURS: '720' }).auth.emailChangeRevertTtlHours).toBe(720);
    for (const bad of ['0', '721', 'a week']) {
      expect(problemsOf({ EMAIL_CHANGE_REVERT_TTL_HOURS: bad }).join('\n')).toMatch(/EMAIL_CHANGE_REVERT_TTL_HOURS/);
    }
  });
});

describe('loadConfig: exposure and database limits (issue 12)', () => {
  const production = {
    NODE_ENV: 'production',
    JWT_SECRET: STRONG,
    MAIL_TRANSPORT: 'ses',
    MAIL_FROM: 'no-reply@example.com',
    PUBLIC_URL: 'https://example.com',
  };

  it('listens on loopback outside production and on all interfaces in production, unless HOST says otherwise', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig(production).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('serves the API docs by default outside production only', () => {
    expect(loadConfig({}).docs).toBe(true);
    expect(loadConfig(production).docs).toBe(false);
    expect(loadConfig({ ...production, API_DOCS: 'true' }).docs).toBe(true);
  });

  it('tells browsers to use HTTPS only in production, unless HTTPS_HEADERS says otherwise (review 18c)', () => {
    expect(loadConfig({}).httpsHeaders).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' }).httpsHeaders).toBe(false);
    expect(loadConfig(production).httpsHeaders).toBe(true);
    expect(loadConfig({ ...production, HTTPS_HEADERS: 'false' }).httpsHeaders).toBe(false);
    expect(loadConfig({ HTTPS_HEADERS: 'true' }).httpsHeaders).toBe(true);
    expect(problemsOf({ HTTPS_HEADERS: 'tls' })).toEqual(['HTTPS_HEADERS must be true or false (got "tls")']);
  });

  it("lists anyone's likes through Conduit's ?favorited= by default, as RealWorld does (review 19a, L2)", () => {
    expect(loadConfig({}).conduitPublicFavorites).toBe(true);
    expect(loadConfig({ CONDUIT_PUBLIC_FAVORITES: 'off' }).conduitPublicFavorites).toBe(false);
    expect(problemsOf({ CONDUIT_PUBLIC_FAVORITES: 'private' })).toEqual([
      'CONDUIT_PUBLIC_FAVORITES must be true or false (got "private")',
    ]);
  });

  it('takes exact CORS origins and refuses wildcards and paths', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({}).corsCredentials).toBe(false);
    for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/', 'app.example.com']) {
      expect(problemsOf({ CORS_ORIGINS: bad })[0]).toMatch(/^CORS_ORIGINS/);
    }
  });

  it('has no metrics token unless one of at least 16 characters is set', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'a'.repeat(16) }).metricsToken).toBe('a'.repeat(16));
    expect(problemsOf({ METRICS_TOKEN: 'short' })[0]).toMatch(/^METRICS_TOKEN/);
  });

  it('bounds database concurrency (smaller for the embedded engine), the queue and the start-up wait', () => {
    const embedded = loadConfig({});
    expect(embedded.dynamo.maxConcurrency).toBe(8);
    expect(embedded.dynamo.startupWaitSeconds).toBe(30);
    expect(embedded.dynamo.embeddedInMemory).toBe(false);
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000' }).dynamo.maxConcurrency).toBe(64);
    expect(loadConfig({ DYNAMODB_MAX_CONCURRENCY: '2', DYNAMODB_MAX_QUEUE: '5' }).dynamo).toMatchObject({
      maxConcurrency: 2,
      maxQueue: 5,
    });
    expect(loadConfig({ DYNAMODB_EMBEDDED_IN_MEMORY: 'true' }).dynamo.embeddedInMemory).toBe(true);
    expect(problemsOf({ DYNAMODB_MAX_CONCURRENCY: '0' })[0]).toMatch(/^DYNAMODB_MAX_CONCURRENCY/);
  });

  it('sends item calls through the lean transport unless DYNAMODB_CLIENT=sdk (issue 15)', () => {
    expect(loadConfig({}).dynamo.client).toBe('lean');
    expect(loadConfig(production).dynamo.client).toBe('lean');
    expect(loadConfig({ DYNAMODB_CLIENT: 'sdk' }).dynamo.client).toBe('sdk');
    expect(problemsOf({ DYNAMODB_CLIENT: 'fast' })[0]).toBe('DYNAMODB_CLIENT must be one of lean, sdk (got "fast")');
  });
});

describe('loadConfig: the stream worker (issue 17)', () => {
  it('runs the worker inline in development only, unless STREAM_WORKER says otherwise', () => {
    expect(loadConfig({}).streamWorker).toEqual({
      mode: 'inline',
      stallSeconds: 60,
      maxAttempts: 5,
      transientMaxSeconds: 3600,
      deferralMaxSeconds: 900,
      metricsPort: 0,
      renameItemsPerRun: 1000,
      cascadeLikesPerRun: 500,
      fanInFollowersPerStep: 100,
    });
    expect(loadConfig({ STREAM_FAN_IN_FOLLOWERS_PER_STEP: '2' }).streamWorker.fanInFollowersPerStep).toBe(2);
    expect(loadConfig({ STREAM_CASCADE_LIKES_PER_RUN: '7' }).streamWorker.cascadeLikesPerRun).toBe(7);
    expect(loadConfig({ NODE_ENV: 'test' }).streamWorker.mode).toBe('off');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG, ...PRODUCTION_MAIL }).streamWorker.mode).toBe(
      'off',
    );
    expect(loadConfig({ NODE_ENV: 'test', STREAM_WORKER: 'inline' }).streamWorker.mode).toBe('inline');
    expect(
      loadConfig({
        STREAM_WORKER: 'off',
        STREAM_WORKER_STALL_SECONDS: '30',
        STREAM_WORKER_MAX_ATTEMPTS: '2',
        STREAM_WORKER_TRANSIENT_MAX_SECONDS: '600',
        STREAM_WORKER_DEFERRAL_MAX_SECONDS: '120',
        WORKER_METRICS_PORT: '9464',
        STREAM_RENAME_ITEMS_PER_RUN: '250',
      }).streamWorker,
    ).toEqual({
      mode: 'off',
      stallSeconds: 30,
      maxAttempts: 2,
      transientMaxSeconds: 600,
      deferralMaxSeconds: 120,
      metricsPort: 9464,
      renameItemsPerRun: 250,
      cascadeLikesPerRun: 500,
      fanInFollowersPerStep: 100,
    });
  });

  it('names a bad STREAM_WORKER, stall time, attempt count, transient retry time or rename bound', () => {
    expect(
      problemsOf({
        STREAM_WORKER: 'lambda',
        STREAM_WORKER_STALL_SECONDS: '1',
        STREAM_WORKER_MAX_ATTEMPTS: '0',
        STREAM_WORKER_TRANSIENT_MAX_SECONDS: '86400',
        STREAM_WORKER_DEFERRAL_MAX_SECONDS: '30',
        STREAM_RENAME_ITEMS_PER_RUN: '0',
        STREAM_FAN_IN_FOLLOWERS_PER_STEP: '1001',
      }),
    ).toEqual([
      'STREAM_WORKER must be one of inline, off (got "lambda")',
      'STREAM_WORKER_STALL_SECONDS must be an integer from 5 to 3600 (got "1")',
      'STREAM_WORKER_MAX_ATTEMPTS must be an integer from 1 to 100 (got "0")',
      'STREAM_WORKER_TRANSIENT_MAX_SECONDS must be an integer from 60 to 72000 (got "86400")',
      'STREAM_WORKER_DEFERRAL_MAX_SECONDS must be an integer from 60 to 72000 (got "30")',
      'STREAM_RENAME_ITEMS_PER_RUN must be an integer from 1 to 100000 (got "0")',
      'STREAM_FAN_IN_FOLLOWERS_PER_STEP must be an integer from 1 to 1000 (got "1001")',
    ]);
  });
});

describe('loadConfig: webhooks (issue 17)', () => {
  const SECRET = 'webhook-secret-of-at-least-32-bytes!!';

  it('reads the URLs, the secret and the timings; no URLs by default', () => {
    expect(loadConfig({}).webhooks).toEqual({
      endpoints: [],
      secret: '',
      previousSecret: '',
      timeoutMs: 5000,
      retryBaseMs: 30_000,
      retryMaxMs: 3_600_000,
      pollMs: 1000,
    });
    expect(
      loadConfig({
        WEBHOOK_URLS: ' https://a.example/hook , http://127.0.0.1:9/x?k=1 ',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_TIMEOUT_MS: '2000',
        WEBHOOK_RETRY_BASE_MS: '0',
        WEBHOOK_RETRY_MAX_MS: '10',
      }).webhooks,
    ).toMatchObject({
      endpoints: [
        { url: 'https://a.example/hook', events: undefined },
        { url: 'http://127.0.0.1:9/x?k=1', events: undefined },
      ],
      secret: SECRET,
      timeoutMs: 2000,
      retryBaseMs: 0,
      retryMaxMs: 10,
    });
  });

  it('refuses other schemes without echoing the URL, and URLs without a secret', () => {
    expect(problemsOf({ WEBHOOK_URLS: 'ftp://user:pw@host/x', WEBHOOK_SECRET: SECRET })).toEqual([
      'WEBHOOK_URLS must hold http(s) URLs only (got one with scheme "ftp:")',
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'not a url', WEBHOOK_SECRET: SECRET })).toEqual([
      'WEBHOOK_URLS must hold http(s) URLs only (got one with scheme "none")',
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'https://a.example/hook' })).toEqual([
      'WEBHOOK_SECRET (at least 32 bytes) is required when WEBHOOK_URLS is set',
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'https://a.example/hook', WEBHOOK_SECRET: 'short' })).toHaveLength(1);
    expect(problemsOf({ WEBHOOK_URLS: 'https://a.example/h,https://a.example/h', WEBHOOK_SECRET: SECRET })).toEqual([
      'WEBHOOK_URLS lists a URL twice',
    ]);
    expect(problemsOf({ WEBHOOK_RETRY_BASE_MS: '10', WEBHOOK_RETRY_MAX_MS: '5' })).toEqual([
      'WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS',
    ]);
  });

  it('reads per-webhook event filters (url|type,type) beside plain URLs, and refuses unknown types', () => {
    expect(
      loadConfig({
        WEBHOOK_URLS:
          'https://a.example/all, https://b.example/x?k=1|post.published,comment.created ,https://c.example|user.registered',
        WEBHOOK_SECRET: SECRET,
      }).webhooks.endpoints,
    ).toEqual([
      { url: 'https://a.example/all', events: undefined },
      { url: 'https://b.example/x?k=1', events: ['post.published', 'comment.created'] },
      { url: 'https://c.example', events: ['user.registered'] },
    ]);
    expect(
      problemsOf({ WEBHOOK_URLS: 'https://b.example/x|post.published,post.edited', WEBHOOK_SECRET: SECRET }),
    ).toEqual([
      'WEBHOOK_URLS names an unknown event type "post.edited" after a "|" (known types: post.published, post.scheduled, post.updated, post.unpublished, post.deleted, comment.created, comment.updated, user.registered, user.renamed)',
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'https://b.example/x|', WEBHOOK_SECRET: SECRET })).toHaveLength(1);
  });

  it('never echoes a scheme-less URL written after a filter: its query may hold a secret (review-3 #8)', () => {
    const problems = problemsOf({
      WEBHOOK_URLS: 'https://a.example/x|post.published,b.example/hook?token=SECRET',
      WEBHOOK_SECRET: SECRET,
    });
    expect(problems).toEqual([
      'WEBHOOK_URLS has an entry after a "|" filter that is neither a known event type nor an http(s) URL (known types: post.published, post.scheduled, post.updated, post.unpublished, post.deleted, comment.created, comment.updated, user.registered, user.renamed)',
    ]);
    expect(problems.join(' ')).not.toContain('SECRET');
  });

  describe('URL and secret policy (review 20a L2)', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: STRONG, ...PRODUCTION_MAIL, WEBHOOK_SECRET: STRONG };
    const HTTPS_ONLY = 'WEBHOOK_URLS must hold https URLs only in production';
    const INTERNAL =
      'WEBHOOK_URLS must not point at a loopback, private, link-local or metadata address in production (got one with such a host)';

    it('accepts a public https URL in production', () => {
      expect(
        loadConfig({ ...production, WEBHOOK_URLS: 'https://hooks.example.com/x?token=t' }).webhooks.endpoints,
      ).toEqual([{ url: 'https://hooks.example.com/x?token=t', events: undefined }]);
    });

    it('refuses plain http in production, and accepts it elsewhere', () => {
      expect(problemsOf({ ...production, WEBHOOK_URLS: 'http://hooks.example.com/x' })).toEqual([HTTPS_ONLY]);
      expect(
        loadConfig({ WEBHOOK_URLS: 'http://hooks.example.com/x', WEBHOOK_SECRET: SECRET }).webhooks.endpoints,
      ).toHaveLength(1);
    });

    it.each([
      'https://169.254.169.254/latest/meta-data/',
      'https://127.0.0.1:9000/admin',
      'https://[::ffff:a9fe:a9fe]/x',
      'https://0x7f000001/',
      'https://[fd00:ec2::254]/',
      'https://10.1.2.3/',
      'https://localhost/',
      'https://metadata.google.internal/',
    ])('refuses %s in production, naming no part of it', (url) => {
      const problems = problemsOf({ ...production, WEBHOOK_URLS: url });
      expect(problems).toEqual([INTERNAL]);
      expect(loadConfig({ WEBHOOK_URLS: url, WEBHOOK_SECRET: SECRET }).webhooks.endpoints).toHaveLength(1);
    });

    it('refuses credentials in the URL in every environment, echoing none of them', () => {
      for (const env of [{ WEBHOOK_SECRET: SECRET }, production]) {
        const problems = problemsOf({ ...env, WEBHOOK_URLS: 'https://user:pw-SECRET@hooks.example.com/x' });
        expect(problems).toEqual(['WEBHOOK_URLS must not hold credentials (user:password@): fetch refuses such a URL']);
        expect(problemsOf({ ...env, WEBHOOK_URLS: 'https://user@hooks.example.com/x' })).toHaveLength(1);
        expect(problems.join(' ')).not.toMatch(/pw-SECRET|hooks\.example/);
      }
    });

    it('refuses a secret of too few distinct characters in every environment, for both keys', () => {
      const url = { WEBHOOK_URLS: 'https://hooks.example.com/x' };
      const weak = 'is low-entropy (too few distinct characters); use e.g. `openssl rand -base64 48`';
      for (const env of [{}, production]) {
        expect(problemsOf({ ...env, ...url, WEBHOOK_SECRET: 'a'.repeat(32) })).toEqual([`WEBHOOK_SECRET ${weak}`]);
        expect(problemsOf({ ...env, ...url, WEBHOOK_SECRET: 'abab'.repeat(10) })).toEqual([`WEBHOOK_SECRET ${weak}`]);
        expect(problemsOf({ ...env, ...url, WEBHOOK_SECRET: STRONG, WEBHOOK_SECRET_PREVIOUS: 'b'.repeat(38) })).toEqual(
          [`WEBHOOK_SECRET_PREVIOUS ${weak}`],
        );
      }
    });
  });

  it('reads WEBHOOK_SECRET_PREVIOUS for a rotation: as long as the secret, and not the same', () => {
    const previous = 'the-previous-webhook-secret-32-bytes-long';
    expect(loadConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_SECRET_PREVIOUS: previous }).webhooks.previousSecret).toBe(
      previous,
    );
    expect(problemsOf({ WEBHOOK_SECRET: SECRET, WEBHOOK_SECRET_PREVIOUS: 'short' })).toEqual([
      'WEBHOOK_SECRET_PREVIOUS, when set, must be at least 32 bytes like WEBHOOK_SECRET',
    ]);
    expect(problemsOf({ WEBHOOK_SECRET: SECRET, WEBHOOK_SECRET_PREVIOUS: SECRET })).toEqual([
      'WEBHOOK_SECRET_PREVIOUS must differ from WEBHOOK_SECRET (unset it once the rotation is over)',
    ]);
  });
});
