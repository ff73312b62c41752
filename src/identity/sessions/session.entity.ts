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
  /**
   * The user item's `sessionEpoch` when the session was signed in (absent: 0). A session of an
   * earlier epoch has ended (`hasEnded`), whether or not its item is deleted yet.
   */
  sessionEpoch?: number;
}

/**
 * What ends sessions at once: the user item's `sessionEpoch`, raised in the same write as a
 * password change or reset, a status change away from active, an admin takeover or sign-out
 * everywhere, and `sessionEpochKeeps`, the one session a password change keeps (the caller's).
 * One conditional write of the user item ends every older session, so nothing that fails after
 * it (the deletes of the items, which are clean-up now) can leave one alive. Every read that
 * trusts a session (the guard, refresh) reads the user item with it already.
 */
export interface SessionCutoff {
  epoch: number;
  keeps?: string;
}

/** The cutoff a user item holds (absent attributes: epoch 0, nothing ended). */
export const cutoffOf = (user: { sessionEpoch?: number; sessionEpochKeeps?: string }): SessionCutoff => ({
  epoch: user.sessionEpoch ?? 0,
  keeps: user.sessionEpochKeeps,
});

/** True when the cutoff ended this session: signed in at an earlier epoch, and not the one kept. */
export const hasEnded = (session: { id: string; sessionEpoch?: unknown }, cutoff: SessionCutoff): boolean =>
  (typeof session.sessionEpoch === 'number' ? session.sessionEpoch : 0) < cutoff.epoch && session.id !== cutoff.keeps;
