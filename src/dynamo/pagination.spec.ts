import { allPages, drainListing, FILLED_PAGE_READS, filledPage, type Page } from './pagination.js';

/** A listing of `pages`, served a page a cursor; records the cursors asked for. */
function listing<T>(pages: T[][]) {
  const asked: (string | undefined)[] = [];
  const fetch = (cursor: string | undefined): Promise<Page<T> & { index: number }> => {
    asked.push(cursor);
    const index = cursor === undefined ? 0 : Number(cursor);
    return Promise.resolve({
      items: pages[index] ?? [],
      nextCursor: index + 1 < pages.length ? String(index + 1) : null,
      index,
    });
  };
  return { fetch, asked };
}

describe('drainListing: page after page, each item in order', () => {
  it('hands every item to `each` one at a time, then the page to `afterPage`, before fetching the next page', async () => {
    const { fetch, asked } = listing([[1, 2], [3], [4, 5]]);
    const seen: string[] = [];
    let running = 0;
    await drainListing(
      fetch,
      async (n) => {
        running++;
        expect(running).toBe(1);
        await Promise.resolve();
        seen.push(`item ${n}`);
        running--;
      },
      (page) => {
        seen.push(`page ${page.index}`);
      },
    );
    expect(seen).toEqual(['item 1', 'item 2', 'page 0', 'item 3', 'page 1', 'item 4', 'item 5', 'page 2']);
    expect(asked).toEqual([undefined, '1', '2']);
  });

  it('stops at the first failure without fetching further pages', async () => {
    const { fetch, asked } = listing([[1], [2]]);
    await expect(
      drainListing(fetch, (n) => {
        if (n === 1) throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(asked).toEqual([undefined]);
  });

  it('reads an empty listing once', async () => {
    const { fetch, asked } = listing<number>([]);
    let calls = 0;
    await drainListing(fetch, () => void calls++);
    expect(calls).toBe(0);
    expect(asked).toEqual([undefined]);
  });

  it('allPages collects every item of every page', async () => {
    await expect(allPages(listing([[1, 2], [], [3]]).fetch)).resolves.toEqual([1, 2, 3]);
  });
});

describe('filledPage: a filtered list fills its page with a bounded number of reads', () => {
  /** A list read `limit` entries from an offset (the cursor), the hidden ones (`null`) dropped after the read. */
  function filtered(entries: (number | null)[]) {
    const asked: [number, string | undefined][] = [];
    const read = (limit: number, cursor: string | undefined): Promise<Page<number>> => {
      asked.push([limit, cursor]);
      const from = cursor === undefined ? 0 : Number(cursor);
      const end = from + limit;
      return Promise.resolve({
        items: entries.slice(from, end).filter((entry): entry is number => entry !== null),
        nextCursor: end < entries.length ? String(end) : null,
      });
    };
    return { read, asked };
  }

  it('reads on from the cursor for the missing count only, so the cursor stays exact', async () => {
    const { read, asked } = filtered([1, null, null, 2, 3, 4]);
    expect(await filledPage(3, undefined, read)).toEqual({ items: [1, 2, 3], nextCursor: '5' });
    expect(asked).toEqual([
      [3, undefined],
      [2, '3'],
    ]);
    expect(await filledPage(3, '5', read)).toEqual({ items: [4], nextCursor: null });
  });

  it(`stops after ${FILLED_PAGE_READS} reads, with the cursor after the last`, async () => {
    const { read, asked } = filtered(Array.from({ length: 20 }, () => null));
    expect(await filledPage(2, undefined, read)).toEqual({ items: [], nextCursor: '6' });
    expect(asked).toEqual([
      [2, undefined],
      [2, '2'],
      [2, '4'],
    ]);
  });

  it('reads once when the page is full or the list ends', async () => {
    const full = filtered([1, 2, 3, null]);
    expect(await filledPage(3, undefined, full.read)).toEqual({ items: [1, 2, 3], nextCursor: '3' });
    const ending = filtered([1, null]);
    expect(await filledPage(5, undefined, ending.read)).toEqual({ items: [1], nextCursor: null });
    expect([full.asked.length, ending.asked.length]).toEqual([1, 1]);
  });

  it('pages through every shown entry once, in order', async () => {
    const entries = [null, 1, null, null, 2, 3, null, null, null, 4, 5, null];
    const { read } = filtered(entries);
    const pages = await allPages((cursor) => filledPage(2, cursor, read));
    expect(pages).toEqual([1, 2, 3, 4, 5]);
  });
});
