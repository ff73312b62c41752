import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ID_PATTERN, RandomIds, SequentialIds } from '../ids.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The providers: the only files that may read the machine's time or make ids themselves. */
const PROVIDERS = new Set(['common/clock/clock.ts', 'common/ids.ts']);

/** Reading the time of day or generating an id directly, instead of through `CLOCK`/`ID_GENERATOR` (or `systemClock`). */
const DIRECT = [
  { name: 'new Date()', pattern: /new Date\(\s*\)/ },
  { name: 'Date.now()', pattern: /Date\.now\(/ },
  { name: 'randomUUID', pattern: /\brandomUUID\b/ },
  { name: 'nanoid()', pattern: /\bnanoid\(/ },
  { name: "nanoid's customAlphabet", pattern: /\bcustomAlphabet\b/ },
  { name: 'newId()', pattern: /\bnewId\(/ },
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('time and ids come from their providers', () => {
  it('no file in src reads the time of day or makes an id except the clock and the id generator', () => {
    const found: string[] = [];
    for (const file of sources(src)) {
      const name = relative(src, file).split('\\').join('/');
      if (PROVIDERS.has(name)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name them
          for (const { name: call, pattern } of DIRECT)
            if (pattern.test(line)) found.push(`${name}:${index + 1} ${call}`);
        });
    }
    expect(found).toEqual([]);
  });
});

describe('RandomIds', () => {
  it('makes distinct ids of the documented shape', () => {
    const ids = new RandomIds();
    const made = Array.from({ length: 50 }, () => ids.next());
    for (const id of made) expect(id).toMatch(ID_PATTERN);
    expect(new Set(made).size).toBe(50);
  });

  it('makes random decimal digits of the length asked', () => {
    const ids = new RandomIds();
    const made = Array.from({ length: 50 }, () => ids.digits(6));
    for (const digits of made) expect(digits).toMatch(/^\d{6}$/);
    expect(new Set(made).size).toBeGreaterThan(40);
  });
});

describe('SequentialIds', () => {
  it('makes valid ids in order, each with the prefix', () => {
    const ids = new SequentialIds('post');
    expect([ids.next(), ids.next()]).toEqual(['post00000000000000001', 'post00000000000000002']);
    expect(ids.next()).toMatch(ID_PATTERN);
    expect(new SequentialIds().next()).toBe('id0000000000000000001');
  });

  it('makes digits from the same counter, the last ones when it outgrows the length', () => {
    const ids = new SequentialIds();
    expect([ids.digits(4), ids.next(), ids.digits(2)]).toEqual(['0001', 'id0000000000000000002', '03']);
  });
});
