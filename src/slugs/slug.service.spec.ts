import type { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AppConfig } from '../config/app-config.js';
import { SettableClock } from '../common/clock/clock.js';
import { SequentialIds } from '../common/ids.js';
import { SlugService } from './slug.service.js';

/** A document client double holding slug owners by slug (the end of the key's `PK`); counts the GetItems it answers. */
function fakeDb(owners: Map<string, string>) {
  const reads = { count: 0, pause: undefined as Promise<void> | undefined };
  const db = {
    send: async (command: GetCommand) => {
      reads.count++;
      const ownerId = owners.get(String(command.input.Key?.PK).split('#').pop()!);
      if (reads.pause) await reads.pause;
      return { Item: ownerId ? { ownerId } : undefined };
    },
  } as unknown as DynamoDBDocumentClient;
  return { db, reads };
}

describe('SlugService: the slug-owner cache of tag and category feeds', () => {
  const clock = new SettableClock().set('2026-11-26T08:00:00Z');
  const owners = new Map<string, string>();
  const setOwner = (slug: string, ownerId: string | undefined) => {
    if (ownerId) owners.set(slug, ownerId);
    else owners.delete(slug);
  };
  const service = (seconds = 30) => {
    const { db, reads } = fakeDb(owners);
    const slugs = new SlugService(db, 't', { slugCacheSeconds: seconds } as AppConfig, clock, new SequentialIds());
    return { slugs, reads };
  };

  beforeEach(() => {
    owners.clear();
    clock.set('2026-11-26T08:00:00Z');
  });

  it('keeps a found owner for SLUG_CACHE_SECONDS, then reads again', async () => {
    const { slugs, reads } = service(30);
    setOwner('rust', 'tag-1');
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBe('tag-1');
    setOwner('rust', 'tag-2'); // as another instance's rename and re-creation would
    clock.advance(29_000);
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBe('tag-1');
    expect(reads.count).toBe(1);
    clock.advance(1_000);
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBe('tag-2');
    expect(reads.count).toBe(2);
  });

  it('does not keep a miss: a slug claimed a moment later is seen at once', async () => {
    const { slugs, reads } = service(30);
    expect(await slugs.cachedOwnerOf('category', 'news')).toBeUndefined();
    setOwner('news', 'cat-1');
    expect(await slugs.cachedOwnerOf('category', 'news')).toBe('cat-1');
    expect(reads.count).toBe(2);
  });

  it('release() leaves the cache alone (the transaction may still fail); forget() after the commit drops it', async () => {
    const { slugs, reads } = service(30);
    setOwner('rust', 'tag-1');
    await slugs.cachedOwnerOf('tag', 'rust');
    slugs.release('tag', 'rust', 'tag-1');
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBe('tag-1');
    expect(reads.count).toBe(1);
    setOwner('rust', undefined);
    slugs.forget('tag', 'rust');
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBeUndefined();
    expect(reads.count).toBe(2);
  });

  it('does not cache an owner read while a release committed and was forgotten', async () => {
    const { slugs, reads } = service(30);
    setOwner('rust', 'tag-1');
    let resume!: () => void;
    reads.pause = new Promise((resolve) => (resume = resolve));
    const inFlight = slugs.cachedOwnerOf('tag', 'rust'); // read the old owner...
    await Promise.resolve();
    setOwner('rust', undefined); // ...then the delete commits and is forgotten
    slugs.forget('tag', 'rust');
    resume();
    reads.pause = undefined;
    expect(await inFlight).toBe('tag-1');
    expect(await slugs.cachedOwnerOf('tag', 'rust')).toBeUndefined();
    expect(reads.count).toBe(2);
  });

  it('reads every time with SLUG_CACHE_SECONDS=0', async () => {
    const { slugs, reads } = service(0);
    setOwner('rust', 'tag-1');
    await slugs.cachedOwnerOf('tag', 'rust');
    await slugs.cachedOwnerOf('tag', 'rust');
    expect(reads.count).toBe(2);
  });
});
