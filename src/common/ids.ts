import { nanoid } from 'nanoid';

/** Ids are 21-character nanoids (URL-safe, ~126 bits of randomness). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{21}$/;
export const newId = (): string => nanoid();
