/**
 * Key builders: the only place that knows how keys are spelled. Repositories compose items
 * from these, and `docs/data-model.md` lists the same shapes.
 */
export const ENTITY = {
  User: 'User',
  Profile: 'Profile',
  Unique: 'Unique',
  Session: 'Session',
  ActionToken: 'ActionToken',
  RateLimit: 'RateLimit',
} as const;

export interface ItemKey {
  PK: string;
  SK: string;
}

/** Emails and usernames are compared case-insensitively and without surrounding spaces. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
export const normalizeUsername = (username: string): string => username.trim().toLowerCase();

export const Keys = {
  user: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER' }),
  profile: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER#PROFILE' }),
  /** Sort-key prefix shared by the user and profile items, so one Query reads both. */
  userAggregatePrefix: 'USER',
  userPartition: (userId: string): string => `USER#${userId}`,
  uniqueEmail: (email: string): ItemKey => ({ PK: `UNIQUE#EMAIL#${normalizeEmail(email)}`, SK: 'UNIQUE' }),
  uniqueUsername: (username: string): ItemKey => ({
    PK: `UNIQUE#USERNAME#${normalizeUsername(username)}`,
    SK: 'UNIQUE',
  }),
  session: (userId: string, sessionId: string): ItemKey => ({ PK: `USER#${userId}`, SK: `SESSION#${sessionId}` }),
  /** Sort-key prefix of a user's sessions. */
  sessionPrefix: 'SESSION#',
  /** Password-reset and verification tokens, keyed by the SHA-256 of the token. */
  actionToken: (tokenHash: string): ItemKey => ({ PK: `TOKEN#${tokenHash}`, SK: 'TOKEN' }),
  /** A fixed-window counter: `scope` names what is limited, `window` its start (epoch seconds). */
  rateLimit: (scope: string, window: number): ItemKey => ({ PK: `RATE#${scope}`, SK: `WINDOW#${window}` }),
} as const;

/** GSI1 listing of all users, newest first (see docs/data-model.md for why one partition is fine). */
export const UserIndexKeys = {
  allUsers: (createdAt: string, userId: string) => ({ GSI1PK: 'USERS', GSI1SK: `${createdAt}#${userId}` }),
} as const;
