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
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
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
});
