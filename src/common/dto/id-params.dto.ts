import { Matches } from 'class-validator';
import { ID_PATTERN } from '../ids.js';

/** A route with an `{id}` path parameter. */
export class IdParams {
  /** The 21-character id. */
  @Matches(ID_PATTERN, { message: 'id must be a 21-character id' })
  id!: string;
}
