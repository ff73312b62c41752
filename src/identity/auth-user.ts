import type { AuthorDisplay } from './author-display.js';
import type { UserRole, UserStatus } from './account.js';

/** Who is calling: set on the request by the JWT strategy from the live session and user items. */
export interface AuthUser {
  userId: string;
  sessionId: string;
  role: UserRole;
  status: UserStatus;
  email: string;
  emailVerified: boolean;
  /** The name and username the caller's new posts and comments carry (from the same user read). */
  display?: AuthorDisplay;
}
