import { ApiTimestamp } from '../../common/dto/api-timestamp.js';

/** One of the caller's sessions (a signed-in device). */
export class SessionDto {
  id!: string;
  /** The User-Agent that signed in. */
  userAgent?: string;
  /** The client IP that signed in. */
  ip?: string;
  @ApiTimestamp()
  createdAt!: string;
  @ApiTimestamp()
  lastUsedAt!: string;
  @ApiTimestamp()
  expiresAt!: string;
  /** True for the session of the token making this request. */
  current!: boolean;
}

export class SessionListDto {
  items!: SessionDto[];
  /** Pass it as `cursor` for the next page; null on the last page. @example Ey54H1-5piYHAEjbq9okk6JwnnN8QErZrV0vJzwptgyrLDZF7hiqTzK6zgRH_mSpzBpaEMojcguy6A1H */
  nextCursor!: string | null;
}
