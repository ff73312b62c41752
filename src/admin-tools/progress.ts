/** Where progress goes: stderr by default, so that stdout keeps only the summary. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface Progress {
  /** Sets the number of units done so far. */
  update(done: number): void;
  /** Draws the final state and ends the bar's line. */
  finish(): void;
}

export interface ProgressOptions {
  /** What is counted, e.g. `export`. */
  label: string;
  /** Expected total (an estimate is fine: DynamoDB's ItemCount lags by hours); 0 when unknown. */
  total: number;
  stream?: ProgressStream;
  /** Seconds between plain progress lines when the stream is not a terminal. */
  lineIntervalMs?: number;
  now?: () => number;
}

/**
 * A progress bar redrawn in place on a terminal, and plain lines at a fixed interval otherwise
 * (CI logs, files): a log should not fill with carriage returns.
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const started = now();
  const tty = stream.isTTY === true;
  const interval = tty ? 100 : (options.lineIntervalMs ?? 5000);
  let done = 0;
  let lastDrawn = -Infinity;
  /** The count the last plain line showed: `finish` repeats no line (undefined: none written yet). */
  let lastLineDone: number | undefined;

  const describe = () => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const total = Math.max(options.total, done);
    const percent = total > 0 ? Math.floor((done / total) * 100) : undefined;
    return { seconds, rate, total, percent };
  };
  const draw = (final: boolean) => {
    const { seconds, rate, total, percent } = describe();
    if (tty) {
      const text = `${done}${total ? `/~${total}` : ''} ${rate}/s ${seconds.toFixed(1)}s`;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - options.label.length - text.length - 10));
      const filled = percent === undefined ? 0 : Math.round((width * percent) / 100);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      stream.write(`\r${options.label} ${bar} ${percent ?? '?'}% ${text}${final ? '\n' : ''}`);
    } else {
      lastLineDone = done;
      stream.write(
        `${options.label}: ${done} done${percent === undefined ? '' : ` (${percent}% of ~${total})`}, ${rate}/s, ${seconds.toFixed(1)}s\n`,
      );
    }
  };

  return {
    update(value) {
      done = value;
      const t = now();
      if (t - lastDrawn >= interval) {
        lastDrawn = t;
        draw(false);
      }
    },
    finish() {
      // A terminal's bar needs its final draw to end the line; a plain line already showing the
      // final count is not written again (it printed the last line twice).
      if (tty || lastLineDone !== done) draw(true);
    },
  };
}

/** Bytes for a person: 1.2 MB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
