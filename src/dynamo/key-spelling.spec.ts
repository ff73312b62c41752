import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommentIndexKeys, ENTITY, Keys, OwnedIndexKeys, PostIndexKeys, TagIndexKeys, UserIndexKeys } from './keys.js';
import { ENTITIES } from './schema.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The files that may spell a key: the declarations themselves. Migrations are left out on
 * purpose: each describes the layout of its own time and must not change when the keys do.
 */
const DECLARATIONS = new Set(['dynamo/keys.ts', 'dynamo/item-schema.ts', 'dynamo/schema.ts']);

/** Every key prefix the declarations build (`USER#`, `USERS#ROLE#`, `AUTHOR#`, `COMMENTER#`...), from the builders themselves. */
function declaredPrefixes(): string[] {
  const samples: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') samples.push(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
  };
  const x = 'x';
  for (const builders of [Keys, UserIndexKeys, OwnedIndexKeys, TagIndexKeys, PostIndexKeys, CommentIndexKeys]) {
    for (const builder of Object.values(builders)) {
      if (typeof builder !== 'function') collect(builder);
      else {
        // Builders take ids (strings) or an entity's fields: a sample of each kind that fits.
        const call = builder as (...args: unknown[]) => unknown;
        const shape = { id: x, authorId: x, createdAt: x, postId: x, status: x, role: x, publishedAt: x, name: x };
        for (const args of [[x, x, x], [shape]]) {
          try {
            collect(call(...args));
          } catch {
            // not this kind of argument
          }
        }
      }
    }
  }
  const prefixes = new Set<string>();
  for (const sample of samples) {
    const match = /^[A-Z_]+#/.exec(sample);
    if (match) prefixes.add(match[0]);
  }
  return [...prefixes];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'migrations' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Every item type (`entity` attribute) the declarations name: `ENTITY`'s and the declared schema's. */
const entityNames = () => new Set<string>([...Object.values(ENTITY), ...ENTITIES.map((declared) => declared.entity)]);

/** The code of a file without its comments (which may name keys to explain them). */
const withoutComments = (code: string) =>
  code.replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, '')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('key spelling', () => {
  const prefixes = declaredPrefixes();

  it('finds the prefixes in the declarations', () => {
    expect(prefixes).toEqual(expect.arrayContaining(['USER#', 'USERS#', 'AUTHOR#', 'COMMENTER#', 'TAG#', 'POST#']));
  });

  it('spells no key prefix outside src/dynamo/keys.ts and item-schema.ts', () => {
    const found: string[] = [];
    for (const file of sourceFiles(src)) {
      const name = relative(src, file);
      if (DECLARATIONS.has(name)) continue;
      const lines = withoutComments(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        for (const prefix of prefixes) {
          if (line.includes(`'${prefix}`) || line.includes(`\`${prefix}`) || line.includes(`"${prefix}`))
            found.push(`${name}:${index + 1} spells ${prefix}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('spells no item type outside the declarations: code names it through ENTITY', () => {
    const names = entityNames();
    expect([...names]).toEqual(expect.arrayContaining(['User', 'Post', 'Counter', 'SlugCounter', 'FeedMonth']));
    const found: string[] = [];
    for (const file of sourceFiles(src)) {
      const name = relative(src, file);
      if (DECLARATIONS.has(name)) continue;
      withoutComments(readFileSync(file, 'utf8'))
        .split('\n')
        .forEach((line, index) => {
          for (const match of line.matchAll(/'([A-Za-z]+)'|"([A-Za-z]+)"/g)) {
            const literal = match[1] ?? match[2];
            if (names.has(literal)) found.push(`${name}:${index + 1} spells '${literal}'`);
          }
        });
    }
    expect(found).toEqual([]);
  });
});
