import type { EmailRevert } from '../identity/account.js';

/**
 * The "it wasn't me" link of an email change (review 16a M1): the `email_changed` notice to the
 * old address carries a link that restores it. Each change reserves the address it leaves until
 * its link expires and records the reservation on the user item (`emailReverts`), bound to the
 * email generation the change produced. See docs/architecture.md, "Account security".
 */

/**
 * Reverts an account may have pending at once: an email change beyond it is refused (409
 * `too_many_email_changes`), which bounds the revert's transaction (one release per later change).
 */
export const MAX_PENDING_EMAIL_REVERTS = 10;

/** The reverts still in force at `now` (ISO time): a lapsed reservation may be claimed by anyone. */
export const liveReverts = (reverts: EmailRevert[] | undefined, now: string): EmailRevert[] =>
  (reverts ?? []).filter((revert) => revert.expiresAt > now);

/**
 * The reverts after a change from `from` that produces `generation`: the lapsed ones go and `from`
 * is reserved until `expiresAt`. No live one is dropped (review 18b H1): the account cannot move
 * back to an address reserved for its own pending revert (the claim refuses it, 409 `email_taken`),
 * so the way back inside the window is the link itself, and no change can take a link's
 * reservation from it.
 */
export function revertsAfterChange(
  reverts: EmailRevert[] | undefined,
  now: string,
  change: { from: string; generation: number; expiresAt: string; takeoverGeneration: number },
): EmailRevert[] {
  return [
    ...liveReverts(reverts, now),
    {
      generation: change.generation,
      email: change.from,
      expiresAt: change.expiresAt,
      takeoverGeneration: change.takeoverGeneration,
    },
  ];
}

/** What a revert's link of `generation` does, or undefined when its reservation is no longer pending. */
export interface RevertPlan {
  /** The address restored (its reservation becomes the account's claim again). */
  target: EmailRevert;
  /** Reverts of earlier changes: still pending, their links still work (they restore an older address). */
  kept: EmailRevert[];
  /** Reverts of later changes, undone with them: their reservations are released and their links die. */
  undone: EmailRevert[];
}

/**
 * The plan of the link of the change of `generation` back to `email`, on `account` as read at
 * `now`. A revert recorded before the account's current admin takeover is refused (review 22a H1):
 * the takeover retires every revert (UsersRepository.takeOverAsAdmin), and this refuses any that
 * predates it all the same, so whoever held the account before cannot take it back, now an admin.
 */
export function revertPlan(
  account: { emailReverts?: EmailRevert[]; takeoverGeneration?: number },
  now: string,
  generation: number,
  email: string,
): RevertPlan | undefined {
  const live = liveReverts(account.emailReverts, now);
  const target = live.find((revert) => revert.generation === generation && revert.email === email);
  if (!target || (target.takeoverGeneration ?? 0) < (account.takeoverGeneration ?? 0)) return undefined;
  return {
    target,
    kept: live.filter((revert) => revert.generation < generation),
    undone: live.filter((revert) => revert.generation > generation),
  };
}
