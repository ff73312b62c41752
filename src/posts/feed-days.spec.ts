import { isExpired } from '../dynamo/expressions.js';
import {
  dayAttribute,
  dayCounterClauses,
  dayInWindow,
  endOfDay,
  prunedDays,
  timelineEntryTtl,
  mayHaveLaterToday,
  updateExpression,
  windowDays,
  windowStart,
  windowSum,
} from './feed-days.js';

describe('feed day counts', () => {
  const now = new Date('2026-11-27T10:00:00.000Z');

  it('names a day by its UTC date, whatever the time of day', () => {
    expect(dayAttribute('2026-11-27T00:00:00.000Z')).toBe('d20261127');
    expect(dayAttribute('2026-11-27T23:59:59.999Z')).toBe('d20261127');
    expect(dayAttribute('2026-11-28T00:00:00.000Z')).toBe('d20261128');
    expect(dayAttribute('2024-03-01T00:00:00.000Z')).toBe('d20240301');
  });

  it('sums today and the 30 days before it, across a month boundary', () => {
    const days = windowDays(now);
    expect(days).toHaveLength(31);
    expect(days[0]).toBe('d20261127');
    expect(days.at(-1)).toBe('d20261028');
    const item = { d20261127: 2, d20261028: 3, d20261027: 100, d20261128: 50, d20261101: -1, PK: 'USER#x' };
    // d20261027 has left the window, d20261128 (tomorrow: scheduled) is not in it yet.
    expect(windowSum(item, now)).toBe(4);
    expect(windowSum(undefined, now)).toBe(0);
  });

  it("queries an author's later posts of today only when some were scheduled, or counted without the hints (review 12, L6)", () => {
    // Two posts of today, both written by this version, neither ahead at its write: nothing to read.
    expect(mayHaveLaterToday({ d20261127: 2, p20261127: 2 }, now)).toBe(false);
    expect(mayHaveLaterToday({ d20261126: 3, p20261126: 3, q20261128: 1 }, now)).toBe(false);
    expect(mayHaveLaterToday(undefined, now)).toBe(false);
    // One scheduled at its write (maybe still ahead).
    expect(mayHaveLaterToday({ d20261127: 2, p20261127: 2, q20261127: 1 }, now)).toBe(true);
    // Posts counted before the hints (0009, an older version, a repair): unknown, so read.
    expect(mayHaveLaterToday({ d20261127: 2, p20261127: 1 }, now)).toBe(true);
    expect(mayHaveLaterToday({ d20261127: 1 }, now)).toBe(true);
  });

  it('lets a day leave the window at the second its entries expire (30 to 31 days)', () => {
    const publishedAt = '2026-10-28T23:59:00.000Z';
    const entry = { ttl: timelineEntryTtl(publishedAt) };
    const counter = { [dayAttribute(publishedAt)]: 1 };
    // The ttl is the end of the publication day plus 30 days.
    expect(new Date(entry.ttl * 1000).toISOString()).toBe('2026-11-28T00:00:00.000Z');
    const lastSecond = new Date('2026-11-27T23:59:59.000Z');
    const next = new Date('2026-11-28T00:00:00.000Z');
    expect([
      isExpired(entry, lastSecond),
      windowSum(counter, lastSecond),
      dayInWindow(publishedAt, lastSecond),
    ]).toEqual([false, 1, true]);
    expect([isExpired(entry, next), windowSum(counter, next), dayInWindow(publishedAt, next)]).toEqual([
      true,
      0,
      false,
    ]);
    // An entry published at the very start of its day lives 31 days, one at its end 30.
    expect(timelineEntryTtl('2026-10-28T00:00:00.000Z') - Date.parse('2026-10-28T00:00:00.000Z') / 1000).toBe(
      31 * 86_400,
    );
  });

  it('prunes the 31 days just before the window, never a day it changes', () => {
    const pruned = prunedDays(now);
    expect(pruned).toHaveLength(31);
    expect(pruned[0]).toBe('d20261027');
    expect(pruned.at(-1)).toBe('d20260927');
    expect(pruned.filter((day) => windowDays(now).includes(day))).toEqual([]);
    const clauses = dayCounterClauses(
      new Map([
        ['d20261127', 1],
        ['d20261126', 0],
      ]),
      now,
    );
    expect(clauses.add).toEqual(['d20261127 :day0']);
    expect(clauses.values).toEqual({ ':day0': 1 });
    expect(updateExpression({ set: ['entity = :entity'], add: clauses.add, remove: clauses.remove })).toBe(
      `SET entity = :entity ADD d20261127 :day0 REMOVE ${pruned.join(', ')}`,
    );
    expect(updateExpression({ add: [], remove: ['d1'] })).toBe('REMOVE d1');
    // An author's item prunes its hints' days too, never one it changes.
    const hinted = dayCounterClauses(new Map([['q20261027', 1]]), now, ['d', 'p', 'q']).remove;
    expect(hinted).toHaveLength(3 * 31 - 1);
    expect(hinted.slice(0, 3)).toEqual(['d20261027', 'p20261027', 'd20261026']);
  });

  it('bounds today by the start of the next UTC day', () => {
    expect(endOfDay(now)).toBe('2026-11-28T00:00:00.000Z');
    expect(endOfDay(new Date('2026-12-31T23:59:59.999Z'))).toBe('2027-01-01T00:00:00.000Z');
    expect(windowStart(now)).toBe('2026-10-28T00:00:00.000Z');
    expect(dayAttribute(windowStart(now))).toBe(windowDays(now).at(-1));
  });
});
