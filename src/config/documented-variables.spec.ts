import { readFileSync } from 'node:fs';
import { loadConfig } from './app-config.js';

/** Every variable `loadConfig` reads, found by handing it an environment that records each lookup. */
function variablesRead(): string[] {
  const read = new Set<string>();
  const record = (name: string | symbol): void => {
    if (typeof name === 'string') read.add(name);
  };
  const env = new Proxy(
    {},
    {
      get: (_target, name) => (record(name), undefined),
      has: (_target, name) => (record(name), false),
    },
  );
  loadConfig(env);
  return [...read].sort();
}

// The README says `.env.example` "lists and explains each one": a variable added to the config
// without either is a setting nobody can find (review 18c found four missing from `.env.example`).
describe('the configuration is documented', () => {
  const variables = variablesRead();
  const envExample = readFileSync('.env.example', 'utf8');
  const readme = readFileSync('README.md', 'utf8');

  it('reads a plausible set of variables (the probe works)', () => {
    expect(variables).toEqual(
      expect.arrayContaining(['PORT', 'JWT_SECRET', 'DYNAMODB_TABLE_NAME', 'LIKE_DIRECT_MAX_PER_SECOND']),
    );
    expect(variables.length).toBeGreaterThan(80);
  });

  it('.env.example names every variable the config reads, set or commented out', () => {
    const named = (name: string) => new RegExp(`^#? ?${name}=`, 'm').test(envExample);
    expect(variables.filter((name) => !named(name))).toEqual([]);
  });

  it('the README names every variable the config reads', () => {
    expect(variables.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
