import { jest } from '@jest/globals';
import type { TransactOperation } from '../dynamo/transactions.js';
import { slugify } from './slugify.js';

/**
 * For unit specs (not built into dist/): a stand-in for `SlugService` whose transaction parts are
 * readable strings (`claim tag intro t1`), so a spec can assert which claims a write carries.
 * `owners` maps a slug to its owner for `ownerOf`.
 */
export function fakeSlugService(owners: Map<string, string> = new Map()) {
  const part = (text: string) => text as unknown as TransactOperation;
  return {
    withSlug: jest.fn(
      async (_kind: string, explicit: string | undefined, name: string, write: (slug: string) => Promise<void>) => {
        const slug = explicit ?? slugify(name);
        await write(slug);
        return slug;
      },
    ),
    claim: jest.fn((kind: string, slug: string, owner: string) => part(`claim ${kind} ${slug} ${owner}`)),
    release: jest.fn((kind: string, slug: string, owner: string) => part(`release ${kind} ${slug} ${owner}`)),
    swap: jest.fn((kind: string, from: string, to: string | undefined, owner: string) =>
      to && to !== from ? [part(`release ${kind} ${from} ${owner}`), part(`claim ${kind} ${to} ${owner}`)] : [],
    ),
    forget: jest.fn((_kind: string, _slug: string) => undefined),
    ownerOf: jest.fn((_kind: string, slug: string) => Promise.resolve(owners.get(slug))),
  };
}
