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
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ...PRODUCTION_MAIL });
    expect(config.dynamo.embedded).toBe(false);
    expect(config.dynamo.createTable).toBe(false);
    expect(config.serverTiming).toBe(false);
    expect(config.auth.bcryptCost).toBeGreaterThanOrEqual(10);
  });

  it('refuses a weak bcrypt cost in production', () => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), BCRYPT_COST: '4' }).join('\n')).toMatch(
      /BCRYPT_COST/,
    );
  });

  describe('mail', () => {
    it('writes mail to files in development and only notes it in tests', () => {
      expect(loadConfig({}).mail).toMatchObject({ transport: 'file', dir: '.data/mail' });
      expect(loadConfig({ NODE_ENV: 'test' }).mail.transport).toBe('log');
    });

    it('refuses in production a transport that does not deliver, naming the setting', () => {
      const base = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ...PRODUCTION_MAIL };
      expect(problemsOf({ ...base, MAIL_TRANSPORT: '' }).join('\n')).toMatch(
        /MAIL_TRANSPORT must be smtp or ses in production \(got "log"\)/,
      );
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
});
