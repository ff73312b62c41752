import { conflict } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

/** The id that content of an erased user is credited to afterwards. */
export const DELETED_USER_ID = 'deleted-user';

export const USER_ROLES = ['user', 'moderator', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Moderators and admins: they see drafts, hidden comments and others' content where users do not. */
export const isStaff = (caller?: { role: UserRole }): boolean =>
  caller?.role === 'admin' || caller?.role === 'moderator';

/** `pending` until the email is verified; `suspended` by an admin; `inactive` once deleted. */
export const USER_STATUSES = ['pending', 'active', 'suspended', 'inactive'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/**
 * Whether a pending email change may still complete (its link used, its confirmation mailed): only
 * for an `active` or `pending` account (review 23 L-1). A suspended one may not, or an attacker
 * holding the password could finish a move the admin suspended the account to stop; nor may a
 * deactivated one.
 */
export const mayChangeEmail = (user: Pick<User, 'status'>): boolean =>
  user.status === 'active' || user.status === 'pending';

/** Who deactivated an account: its owner (`DELETE /users/me`) or an admin (a status change, `DELETE /users/{id}`). */
export type DeactivatedBy = 'owner' | 'admin';

/** The user item (`PK=USER#<id>`, `SK=USER`) as the domain sees it. */
export interface User {
  id: string;
  email: string;
  username: string;
  firstName?: string;
  lastName?: string;
  role: UserRole;
  status: UserStatus;
  emailVerified: boolean;
  emailVerifiedAt?: string;
  lastLoginAt?: string;
  loginCount: number;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  /**
   * Who made the account `inactive` (absent on other statuses, and on accounts deactivated before
   * it was recorded): an email change's revert reactivates only what the owner deactivated, never
   * an admin's decision. Internal, never returned.
   */
  deactivatedBy?: DeactivatedBy;
  version: number;
  /** Rises with every password write (change, reset, takeover): the "password changed" notice. Internal. */
  passwordGeneration?: number;
  /**
   * Rises with a reset and the admin takeover, not with a change made with the current password
   * (review 16a M1): reset links are bound to it. Internal, never returned.
   */
  resetGeneration?: number;
  /**
   * Set on accounts created since session counting (src/identity/login-bookkeeping.ts): with no
   * sign-in item yet, the account has at most its registration's session. Internal, never returned.
   */
  sessionsCounted?: boolean;
  /** Raised to end every older session at once (src/identity/sessions/session.entity.ts). Internal. */
  sessionEpoch?: number;
  /** The one session of an earlier epoch that the latest raise kept (a password change's caller). Internal. */
  sessionEpochKeeps?: string;
  /**
   * Rises with every email change and revert: an "it wasn't me" link and its reservation are bound
   * to the generation its change produced (src/users/email-reverts.ts). Internal, never returned.
   */
  emailGeneration?: number;
  /**
   * Rises with each admin bootstrap takeover (review 22a H1: the email-change undo links made
   * before it no longer work). Internal, never returned.
   */
  takeoverGeneration?: number;
  /** The old addresses reserved for the revert links of recent email changes, oldest first. Internal. */
  emailReverts?: EmailRevert[];
  /**
   * When a hard delete or self-erasure suspended the account for its erasure (review 17a L1): set
   * in the suspension's write, gone with the account. While it is set the owner may sign in and
   * retry `DELETE /users/me?mode=erase`, nothing else, and `users:finish-erasures` finishes an old one.
   */
  erasureRequestedAt?: string;
  /**
   * Set with `erasureRequestedAt` only when the erase itself suspended the account (it was pending
   * or active; review 18d M1): only then may the owner sign in to retry. An account an admin had
   * suspended or deactivated gains the marker and stays shut. Both go with any move to `active`
   * (review 18d H1); any other status change drops this one.
   */
  erasureSignIn?: boolean;
}

/** One email change's revert: the address it left (reserved until `expiresAt`) and the generation it produced. */
export interface EmailRevert {
  generation: number;
  email: string;
  expiresAt: string;
  /**
   * The account's `takeoverGeneration` when the change was made (review 22a H1): a revert made
   * before the account's current admin takeover is refused. Absent on reverts recorded before it
   * was (read as 0).
   */
  takeoverGeneration?: number;
}

/**
 * An account its owner deactivated (`DELETE /users/me`, recorded since session 19), whose address
 * was verified, and not being erased: its owner can bring it back by proving the mailbox (review 22a
 * M1): a reset link is mailed to it, and a completed reset, like an email change's undo link, makes
 * it active again. An account an admin deactivated or suspended stays shut, and so does one whose
 * address was never verified (review 23 L-3): that address may be anyone's (a typo, a stranger's),
 * so its holder gets no reset mail, and the account stays replaceable by a registration of the
 * address past PENDING_ACCOUNT_TTL_HOURS (review 22a M2).
 */
export const isSelfRecoverable = (
  user: Pick<User, 'status' | 'deactivatedBy' | 'erasureRequestedAt' | 'emailVerified'>,
): boolean =>
  user.status === 'inactive' &&
  user.deactivatedBy === 'owner' &&
  user.emailVerified &&
  user.erasureRequestedAt === undefined;

/**
 * Whether the erase suspended the account and has not finished (review 17a L1), so that its owner
 * may sign in to retry: not an account that was already suspended or deactivated (review 18d M1).
 */
export const isErasurePending = (user: Pick<User, 'status' | 'erasureRequestedAt' | 'erasureSignIn'>): boolean =>
  user.status === 'suspended' && user.erasureRequestedAt !== undefined && user.erasureSignIn === true;

/**
 * 409 `erasure_pending` for an account read with the erasure marker (session 19): its status does
 * not change until the erase finishes. Kept by the repository's user update (review 19b M1, L3).
 */
export function refuseWhileErasing(user: Pick<User, 'erasureRequestedAt'>): void {
  if (user.erasureRequestedAt !== undefined)
    throw conflict(
      ErrorCode.ErasurePending,
      'The account is being erased: its status cannot change. The erasure is finished by its retry, ' +
        'a hard delete (DELETE /users/{id}?mode=hard) or npm run users:finish-erasures.',
    );
}

/** The attributes of the erasure marker: removed by every move to `active` (review 18d H1). */
export const ERASURE_MARKER_ATTRIBUTES = ['erasureRequestedAt', 'erasureSignIn'] as const;

/**
 * What a status change removes of the erasure marker (review 18d H1, M1): a move to `active` both
 * attributes (the account is revived, nothing left for the sweep), any other status change the
 * owner's sign-in unless this write sets it (the erase's own suspension).
 */
export function erasureMarkerRemoval(
  user: Pick<User, 'status'>,
  next: { status?: UserStatus; erasureSignIn?: true },
): string[] {
  if (next.status === undefined || next.status === user.status) return [];
  if (next.status === 'active' || next.status === 'pending') return [...ERASURE_MARKER_ATTRIBUTES];
  return next.erasureSignIn ? [] : ['erasureSignIn'];
}

/** The user with its credential: only the auth code ever sees this. */
export interface UserWithPassword extends User {
  passwordHash: string;
}
