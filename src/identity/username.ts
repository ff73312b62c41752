import { customAlphabet } from 'nanoid';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_-]{1,28}[a-z0-9]$/;

const suffix = customAlphabet('0123456789', 4);

/** A valid username derived from an email's local part (`Ada.Lovelace+x@...` -> `ada-lovelace-x`). */
export function usernameFromEmail(email: string): string {
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
  if (base.length < 3) base = `user-${base}`.replace(/-$/, '') + (base.length === 0 ? suffix() : '');
  return base;
}

/** The same base with a random numeric suffix, for when the derived name is taken. */
export const withRandomSuffix = (username: string): string => `${username.slice(0, 25)}-${suffix()}`;
