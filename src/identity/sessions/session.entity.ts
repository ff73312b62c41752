/** A signed-in device: `PK=USER#<userId>`, `SK=SESSION#<sessionId>`, with `ttl` = expiresAt. */
export interface Session {
  id: string;
  userId: string;
  userAgent?: string;
  ip?: string;
  createdAt: string;
  lastUsedAt: string;
  /** ISO time after which the session is dead, whether or not TTL has deleted it yet. */
  expiresAt: string;
  /** SHA-256 (hex) of the current refresh token; the token itself is never stored. */
  refreshTokenHash: string;
  /** Hashes of the last few rotated-out refresh tokens, to recognise reuse. */
  previousTokenHashes: string[];
  /** How many times the refresh token was rotated. */
  generation: number;
}
