import { randomUUID } from 'node:crypto';
import { customAlphabet, nanoid } from 'nanoid';

/** Ids are 21-character nanoids (URL-safe, ~126 bits of randomness). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{21}$/;

/** Injection token of the application's id generator. */
export const ID_GENERATOR = 'ID_GENERATOR';

/**
 * Makes the ids of new entities (users, posts, comments, tags, categories, sessions). Services
 * ask it instead of calling nanoid, so that a unit spec can predict the id a write uses.
 */
export interface IdGenerator {
  next(): string;
  /** `length` random decimal digits (a taken username's suffix). */
  digits(length: number): string;
}

const DIGITS = '0123456789';

/** Production: random 21-character nanoids. */
export class RandomIds implements IdGenerator {
  next(): string {
    return nanoid();
  }

  digits(length: number): string {
    return customAlphabet(DIGITS, length)();
  }
}

/** Tests: `prefix` padded to 21 characters with a counter (`post0000000000000001`...), valid ids in order. */
export class SequentialIds implements IdGenerator {
  private count = 0;

  constructor(private readonly prefix = 'id') {}

  next(): string {
    const counter = String(++this.count);
    return `${this.prefix}${counter.padStart(21 - this.prefix.length, '0')}`;
  }

  /** The next counter value, the last `length` digits, zero-padded (`0001`, `0002`...). */
  digits(length: number): string {
    return String(++this.count).padStart(length, '0').slice(-length);
  }
}

/** A request id (UUID) for log correlation when the client sent none. */
export const newRequestId = (): string => randomUUID();
