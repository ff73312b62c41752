import type { IdGenerator } from '../common/ids.js';
import { DELETED_USER_ID } from './account.js';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_-]{1,28}[a-z0-9]$/;

/**
 * Names no account may take: `deleted-user` (DELETED_USER_ID, the author shown for erased accounts'
 * content), the `nobody-` ids of action links sent to no account, and a few names that
 * read like the service's staff. Each is reserved with what a look-alike adds to it (review 22 M):
 * digits and separators at its end (`admin1`, `admin_`, `support-2`), and anything after a
 * separator (`support-team`, `staff_picks`, `admin-bob`); `_` counts as `-` (`deleted_user`).
 * Names that only begin with the letters (`adminton`, `staffan`, `securityguy`) are free.
 */
const RESERVED_USERNAMES = new Set([
  DELETED_USER_ID,
  'admin',
  'administrator',
  'moderator',
  'support',
  'staff',
  'security',
]);
export const isReservedUsername = (username: string): boolean => {
  const name = username.replace(/_/g, '-');
  if (name.startsWith('nobody-')) return true;
  const base = name.replace(/[\d-]+$/, '');
  if (RESERVED_USERNAMES.has(base)) return true;
  return [...RESERVED_USERNAMES].some((reserved) => name.startsWith(`${reserved}-`));
};

/**
 * A derived username (from an email) that is reserved, made free: `user-` before it
 * (`support@...` -> `user-support`), within the 30 characters of a username.
 */
export const unreserved = (username: string): string => `user-${username}`.slice(0, 30).replace(/[-_]+$/, '');

/** Digits of the random suffix: 10,000 names per base, enough for the few retries of a taken one. */
const SUFFIX_DIGITS = 4;

/** A valid username derived from an email's local part (`Ada.Lovelace+x@...` -> `ada-lovelace-x`). */
export function usernameFromEmail(email: string, ids: IdGenerator): string {
  const local = email.split('@')[0] ?? '';
  let base = local
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 24)
    .replace(/[-_]+$/, '');
  if (base.length < 3) base = `user-${base}`.replace(/-$/, '') + (base.length === 0 ? ids.digits(SUFFIX_DIGITS) : '');
  return base;
}

/** The same base with a random numeric suffix, for when the derived name is taken. */
export const withRandomSuffix = (username: string, ids: IdGenerator): string =>
  `${username.slice(0, 25)}-${ids.digits(SUFFIX_DIGITS)}`;
