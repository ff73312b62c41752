import { SettableClock, SystemClock } from './clock.js';

describe('SystemClock', () => {
  it('tells the machine time', () => {
    const before = Date.now();
    const now = new SystemClock().now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe('SettableClock', () => {
  it('follows the machine time until set', () => {
    const clock = new SettableClock();
    const before = Date.now();
    const now = clock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('stops at the moment it is set to, and moves only when advanced', () => {
    const clock = new SettableClock().set('2026-05-15T12:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2026-05-15T12:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2026-05-15T12:00:00.000Z');
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe('2026-05-15T12:01:30.000Z');
    clock.advance(-30_000);
    expect(clock.now().toISOString()).toBe('2026-05-15T12:01:00.000Z');
  });

  it('advances a running clock by an offset', () => {
    const clock = new SettableClock().advance(3_600_000);
    const ahead = clock.now().getTime() - Date.now();
    expect(ahead).toBeGreaterThan(3_600_000 - 1_000);
    expect(ahead).toBeLessThanOrEqual(3_600_000);
  });

  it('follows the machine again after reset', () => {
    const clock = new SettableClock().set('2001-01-01T00:00:00.000Z').advance(5);
    clock.reset();
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(1_000);
    clock.advance(1_000).reset();
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(1_000);
  });

  it('refuses a moment that is not a date', () => {
    expect(() => new SettableClock().set('not a date')).toThrow('not a date');
  });
});
