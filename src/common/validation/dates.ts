// Calendar-date rules without class-validator or Nest: the DTO rule and the users service share them.

/** Whether `value` is a `YYYY-MM-DD` string naming a real calendar date (not 2001-02-30). */
export function isIsoCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** Whether the calendar date `date` (`YYYY-MM-DD`, UTC) began before `now`. */
export const isDateBefore = (date: string, now: Date): boolean =>
  new Date(`${date}T00:00:00Z`).getTime() < now.getTime();

/** The message of a date that must lie in the past, from the DTO rule or from the service's check. */
export const pastDateMessage = (property: string) => `${property} must be a real date (YYYY-MM-DD) in the past`;
