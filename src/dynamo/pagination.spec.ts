import { allPages, drainListing, type Page } from './pagination.js';

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
