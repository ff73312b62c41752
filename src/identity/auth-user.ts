import type { AuthorDisplay } from './author-display.js';
import type { UserRole, UserStatus } from './account.js';
import type { SessionCutoff } from './sessions/session.entity.js';

/** Who is calling: set on the request by the JWT strategy from the live session and user items. */
export interface AuthUser {
  userId: string;
  sessionId: string;
  role: UserRole;
  status: UserStatus;
  email: string;
  emailVerified: boolean;
  /**
   * The user item's cutoff, from the same read: which of the user's sessions have ended (review
   * 16a L5). Set by the access-token verifier; absent on callers built outside a request (seeding).
   */
  sessionCutoff?: SessionCutoff;
  /** The name and username the caller's new posts and comments carry (from the same user read). */
  display?: AuthorDisplay;
}
