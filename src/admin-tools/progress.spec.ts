import { createProgress, type ProgressStream } from './progress.js';

/** A stream that records what is written, and a clock the test moves. */
function recorder(isTTY: boolean) {
  const written: string[] = [];
  const stream: ProgressStream = { isTTY, columns: 80, write: (text) => written.push(text) > 0 };
  let time = 0;
  return { written, stream, now: () => time, advance: (ms: number) => (time += ms) };
}

describe('createProgress', () => {
  it('writes plain lines at the interval and the last count once (it printed the last line twice)', () => {
    const { written, stream, now, advance } = recorder(false);
    const progress = createProgress({ label: 'sweep', total: 10, stream, now, lineIntervalMs: 1000 });
    progress.update(4);
    advance(500);
    progress.update(7); // inside the interval: no line
    advance(600);
    progress.update(10);
    progress.finish();
    expect(written.map((line) => line.split(',')[0])).toEqual([
      'sweep: 4 done (40% of ~10)',
      'sweep: 10 done (100% of ~10)',
    ]);
  });

  it('writes the final count when the last update fell inside the interval, and once when nothing was updated', () => {
    const { written, stream, now, advance } = recorder(false);
    const progress = createProgress({ label: 'sweep', total: 0, stream, now, lineIntervalMs: 1000 });
    progress.update(4);
    advance(10);
    progress.update(9);
    progress.finish();
    expect(written.map((line) => line.split(',')[0])).toEqual([
      'sweep: 4 done (100% of ~4)',
      'sweep: 9 done (100% of ~9)',
    ]);

    const quiet = recorder(false);
    createProgress({ label: 'empty', total: 0, stream: quiet.stream, now: quiet.now }).finish();
    expect(quiet.written).toEqual(['empty: 0 done, 0/s, 0.0s\n']);
  });

  it('on a terminal redraws in place and ends the line at finish', () => {
    const { written, stream, now } = recorder(true);
    const progress = createProgress({ label: 'sweep', total: 10, stream, now });
    progress.update(10);
    progress.finish();
    expect(written).toHaveLength(2);
    expect(written.every((text) => text.startsWith('\rsweep ['))).toBe(true);
    expect(written[1]).toMatch(/100% 10\/~10 .*\n$/);
  });
});
