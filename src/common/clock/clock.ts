/** Injection token of the application's clock. */
export const CLOCK = 'CLOCK';

/**
 * The time as the application sees it. Services ask it instead of calling `new Date()`, so
 * that tests can put the app at a chosen moment (a scheduled post's time, the middle of a
 * month) instead of sleeping or depending on the time of day.
 */
export interface Clock {
  now(): Date;
}

/** Production: the machine's time. */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/**
 * The machine's time for code that runs outside the app's injector or must not follow a test's
 * clock: tooling (migrations, import/export, seed, engine locks) and the
 * access-token claims that the JWT library also checks on the machine's time. Services inject
 * `CLOCK` instead. Durations (deadlines, elapsed seconds) use `performance.now()`: monotonic, and
 * not a time of day.
 */
export const systemClock: Clock = new SystemClock();

/**
 * Tests: follows the machine's time until told otherwise. `set` stops it at a moment,
 * `advance` moves it (frozen or not), `reset` makes it follow the machine again.
 */
export class SettableClock implements Clock {
  private fixed: number | undefined;
  private offsetMs = 0;

  now(): Date {
    return new Date(this.fixed ?? Date.now() + this.offsetMs);
  }

  /** Stops the clock at `at`. */
  set(at: Date | string): this {
    const ms = new Date(at).getTime();
    if (Number.isNaN(ms)) throw new Error(`SettableClock.set: not a date: ${String(at)}`);
    this.fixed = ms;
    return this;
  }

  /** Moves the clock forward (or back, with a negative amount). */
  advance(ms: number): this {
    if (this.fixed === undefined) this.offsetMs += ms;
    else this.fixed += ms;
    return this;
  }

  /** Follows the machine's time again. */
  reset(): this {
    this.fixed = undefined;
    this.offsetMs = 0;
    return this;
  }
}
