import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { translateDynamoError } from '../dynamo/dynamo-errors.js';
import { OUTLIVES_REPLAY_TTL_SECONDS } from '../dynamo/replay-window.js';
import type { Item } from '../dynamo/stream-record.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { classifyMailError, type MailFailure, MailNotSent } from './mail-errors.js';
import { MAILER, type Mailer } from './mailer.js';
import { NoticesSentRepository } from './notices-sent.repository.js';
import { describeMailError, type MailRequest, type PasswordChangeCause, renderMail } from './templates.js';

/**
 * How long a notice's marker is kept: past the last replay of its record. The stream keeps a
 * record 24 hours, but a dead-lettered one can be replayed for 30 days: with the 48 hours this
 * was, a replay on day 3 found no marker (TTL had deleted it) and mailed the notice again.
 */
const MARKER_LIFETIME_MS = OUTLIVES_REPLAY_TTL_SECONDS * 1000;

/** At most one `email_changed` notice a day to an address its account never verified (review 22a L7). */
export const UNVERIFIED_NOTICE_INTERVAL_MS = 24 * 3600 * 1000;

/** A notice's mail before the links only the sender knows (the undo link, the "forgot password" page). */
export type NoticeMail =
  | { kind: 'password_changed'; to: string; cause: PasswordChangeCause }
  /** `newEmail` absent when the old address was never verified (review 22a L7: a stranger's, perhaps). */
  | { kind: 'email_changed'; to: string; newEmail?: string }
  | { kind: 'email_change_undone'; to: string; passwordDisabled: boolean }
  | { kind: 'email_moved_back'; to: string }
  | { kind: 'account_deactivated'; to: string };

/** The front end's "forgot password" page, under PUBLIC_URL: it posts `POST /auth/password-reset/request`. */
export const FORGOT_PASSWORD_PAGE = '/forgot-password';

interface Notice {
  /** Unique per change: the kind and the generation or version the change produced. */
  marker: string;
  mail: NoticeMail;
  /** An email change's undo link to mint for the mail (src/users/email-reverts.ts). */
  revert?: RevertLinkRequest;
  /**
   * The address whose notice of this kind goes at most once per UNVERIFIED_NOTICE_INTERVAL_MS, whoever's
   * account it is about (review 22a L7: a never-verified address may be anyone's).
   */
  oncePerDayTo?: string;
}

/** What an email change's undo link is bound to: the address it restores and the change's email generation. */
export interface RevertLinkRequest {
  userId: string;
  email: string;
  emailGeneration: number;
  expiresAt: string;
}

/**
 * Mints an undo link (ActionLinksService.mintRevertLink): passed in, so that mail does not depend on
 * identity. Undefined when the link could no longer be used (its change no longer pending revert).
 */
export type RevertLinkMinter = (request: RevertLinkRequest) => Promise<string | undefined>;

/** The revert the change that produced `after` reserved its old address for, if it recorded one. */
function revertOf(userId: string, before: Item, after: Item): RevertLinkRequest | undefined {
  const generation: unknown = after.emailGeneration;
  if (typeof generation !== 'number' || !Array.isArray(after.emailReverts)) return undefined;
  const entry = (after.emailReverts as { generation?: unknown; email?: unknown; expiresAt?: unknown }[]).find(
    (revert) => revert.generation === generation,
  );
  if (!entry || entry.email !== before.email || typeof entry.expiresAt !== 'string') return undefined;
  return { userId, email: before.email as string, emailGeneration: generation, expiresAt: entry.expiresAt };
}

const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** An email change's undo link, or why a notice has none it could use (`SecurityNotices.revertLinkOf`). */
type RevertLink = { url: string } | 'expired' | 'undone' | undefined;

/**
 * The notices a change of a user item calls for: "your password was changed" to the account's
 * address when its password generation rose (a change; or, with the reset generation, a reset,
 * whose notice says "reset" and advises securing the mailbox first; or, with the takeover generation
 * too, the admin bootstrap's takeover, whose notice says an administrator set the password),
 * "your email was changed" to the old address (the one an attacker who took the account would
 * not read) when the email changed, and "your email change was undone" to the restored address
 * when an undo link was used (instead of "your password was changed", which the revert's unusable
 * password would otherwise send), with a link-free "the account was moved back" to the address it left,
 * and "your account was deactivated" to the account's address when its owner deactivated it (review
 * 22a M1: the token that did may not be the owner's; a reset by mail brings the account back).
 *
 * The "email changed" notice to an address the account never verified (review 22a L7; review 20b L7
 * kept it for an owner whose password leaked) names no new address, and goes at most once a day to
 * that address (`oncePerDayTo`): anyone can register a stranger's address and move away from it,
 * which made the notice a way to mail chosen people an alarm carrying a text of one's choice.
 */
export function noticesOf(before: Item | undefined, after: Item | undefined, userId = ''): Notice[] {
  if (!before || !after || typeof after.email !== 'string') return [];
  const notices: Notice[] = [];
  const generation = numberOf(after.passwordGeneration);
  const passwordChanged = generation > numberOf(before.passwordGeneration);
  // The reset generation rises with a reset (a link mailed to this address) and the admin
  // bootstrap's takeover, not with a change (the current password and a session): a reset's
  // notice cannot tell its reader to reset by mail, since whoever used the link reads this mailbox.
  const reset = numberOf(after.resetGeneration) > numberOf(before.resetGeneration);
  // The admin bootstrap's takeover raises both, and its own generation (absent = 0): nobody reset
  // anything, the operator set a password because this is the address it was started with.
  const takeover = numberOf(after.takeoverGeneration) > numberOf(before.takeoverGeneration);
  const cause: PasswordChangeCause = takeover ? 'takeover' : reset ? 'reset' : 'change';
  // A revert (its undo link used) tells the restored address what it did, and the address it leaves
  // that the account moved back (review 20b L5: that address may be the owner's, the link used by
  // whoever reads the old mailbox). Neither names the other address, and the one to the address
  // left has no link: it is the one the account may have been taken to, and a link there could
  // undo the revert.
  const reverted = after.emailRevertedAt !== undefined && after.emailRevertedAt !== before.emailRevertedAt;
  if (reverted && typeof after.version === 'number') {
    notices.push({
      marker: `email_change_undone#${after.version}`,
      mail: { kind: 'email_change_undone', to: after.email, passwordDisabled: passwordChanged },
    });
    if (typeof before.email === 'string' && before.email !== after.email)
      notices.push({
        marker: `email_moved_back#${after.version}`,
        mail: { kind: 'email_moved_back', to: before.email },
      });
  } else if (passwordChanged) {
    notices.push({
      marker: `password_changed#${generation}`,
      mail: { kind: 'password_changed', to: after.email, cause },
    });
  }
  if (
    typeof before.email === 'string' &&
    before.email !== after.email &&
    typeof after.version === 'number' &&
    !reverted
  ) {
    const revert = revertOf(userId, before, after);
    const verified = before.emailVerified === true;
    notices.push({
      marker: `email_changed#${after.version}`,
      mail: verified
        ? { kind: 'email_changed', to: before.email, newEmail: after.email }
        : { kind: 'email_changed', to: before.email },
      ...(revert ? { revert } : {}),
      ...(verified ? {} : { oncePerDayTo: before.email }),
    });
  }
  // The owner's deactivation (an admin's is the admin's to tell): the move to `inactive` itself,
  // not an admin's later deactivation of the same account, which replaces `deactivatedBy`.
  const deactivatedByOwner =
    after.status === 'inactive' && after.deactivatedBy === 'owner' && before.status !== 'inactive';
  if (deactivatedByOwner && typeof after.version === 'number')
    notices.push({
      marker: `account_deactivated#${after.version}`,
      mail: { kind: 'account_deactivated', to: after.email },
    });
  return notices;
}

/**
 * A notice could not be sent (nor its link minted): its marker is given back and the record
 * retried. `transient` when every such failure was (review 19b M2: the mail server away or busy, a
 * throttled database during the mint), `deferral` when one was a relay deferring the recipient at
 * `RCPT TO`: see `MailNotSent` (src/mail/mail-errors.ts) for what the stream worker does with each.
 */
export class NoticeNotSent extends MailNotSent {
  override readonly name = 'NoticeNotSent';
}

/**
 * Security notices, sent by the stream processor from the user item's own change record: the
 * request writes nothing for them. Each is claimed with a marker item before it is sent, so a
 * replayed record sends nothing more. What a failure does depends on its kind (review 19b M2):
 * - the mail server refused the mail for good (an SMTP 5xx, SES `MessageRejected`): logged and
 *   counted (`refused`), the marker kept, so neither the retry nor a replay tries it again;
 * - otherwise the marker is given back (only this attempt's claim, review 19b L1) and the record
 *   fails, which the stream retries (review 18b L4: an `email_changed` notice carries the change's
 *   only undo link, which the retry mints again, the same): without counting towards the dead
 *   letter when the failure was transient (the mail server away or busy, a throttled database
 *   during the mint), counted otherwise;
 * - a give-back that fails itself loses the notice (the marker stays claimed): logged and counted
 *   as `lost`, and the record's other notices are still tried.
 * A failure is logged without the mail's content. A crash between the claim and the send still
 * loses that notice (the marker stays claimed).
 */
@Injectable()
export class SecurityNotices {
  private readonly logger = new Logger('SecurityNotices');
  private readonly recoverUrl: string;

  constructor(
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly sent: NoticesSentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: AppMetrics,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'publicUrl'>,
  ) {
    this.recoverUrl = `${config.publicUrl}${FORGOT_PASSWORD_PAGE}`;
  }

  /** The mail to render: the notice's, with the undo link (an email change's) or the "forgot password" page. */
  private requestOf(mail: NoticeMail, link: RevertLink): MailRequest {
    switch (mail.kind) {
      case 'email_changed':
        return typeof link === 'object'
          ? { ...mail, link: link.url }
          : link === 'expired'
            ? { ...mail, linkExpired: true }
            : mail;
      case 'password_changed':
      case 'email_change_undone':
      case 'account_deactivated':
        return { ...mail, recoverUrl: this.recoverUrl };
      case 'email_moved_back':
        return mail;
    }
  }

  /**
   * Sends what a MODIFY of the user item calls for; returns the kinds it sent. An email change's
   * undo link is minted (`mintRevertLink`) after the notice's claim. Throws `NoticeNotSent` after
   * trying every notice when one is to be retried (the ones sent stay claimed).
   */
  async fromUserChange(
    userId: string,
    before: Item | undefined,
    after: Item | undefined,
    mintRevertLink?: RevertLinkMinter,
  ): Promise<string[]> {
    const sent: string[] = [];
    const retried: { kind: string; failure: MailFailure }[] = [];
    for (const notice of noticesOf(before, after, userId)) {
      const now = this.clock.now();
      const claim = await this.sent.claim(userId, notice.marker, now, new Date(now.getTime() + MARKER_LIFETIME_MS));
      if (claim === undefined) continue;
      let minted = false;
      let addressClaim: string | undefined;
      try {
        if (notice.oncePerDayTo !== undefined) {
          addressClaim = await this.sent.claimForAddress(
            notice.oncePerDayTo,
            notice.mail.kind,
            now,
            new Date(now.getTime() - UNVERIFIED_NOTICE_INTERVAL_MS),
            new Date(now.getTime() + UNVERIFIED_NOTICE_INTERVAL_MS),
          );
          if (addressClaim === undefined) {
            // Its own marker stays claimed: a replay of the record does not try again.
            this.logger.log(
              `A ${notice.mail.kind} notice was not sent: its never-verified address got one in the last day`,
            );
            this.metrics.mailDeliveries().inc({ kind: notice.mail.kind, outcome: 'skipped' });
            continue;
          }
        }
        const link = await this.revertLinkOf(notice, mintRevertLink);
        minted = true;
        if (link === 'undone') {
          // The change was undone since (its own link, or an earlier change's): the account left the
          // address this notice names, and the address it goes to may be the one it was taken to.
          this.logger.log(`A ${notice.mail.kind} notice was not sent: its change was undone before it went out`);
          this.metrics.mailDeliveries().inc({ kind: notice.mail.kind, outcome: 'skipped' });
          continue;
        }
        await this.mailer.send(renderMail(this.requestOf(notice.mail, link)));
        sent.push(notice.mail.kind);
        this.metrics.mailDeliveries().inc({ kind: notice.mail.kind, outcome: 'sent' });
      } catch (error) {
        // A mint's failure is the database's: transient when DynamoDB throttled, timed out or was away.
        const failure = minted ? classifyMailError(error) : translateDynamoError(error) ? 'transient' : 'unknown';
        if (await this.failed(userId, notice, claim, failure, error)) {
          if (addressClaim !== undefined) await this.releaseAddress(notice, addressClaim);
          retried.push({ kind: notice.mail.kind, failure });
        }
      }
    }
    if (retried.length > 0)
      throw new NoticeNotSent(
        `${retried.map(({ kind, failure }) => `${kind} (${failure})`).join(', ')} not sent; the record is retried`,
        retried.every(({ failure }) => failure === 'transient' || failure === 'deferred'),
        retried.some(({ failure }) => failure === 'deferred'),
      );
    return sent;
  }

  /**
   * The undo link an email change's notice carries (session 20, a late record): minted only while
   * it can still be used; `expired` when its reservation lapsed before the notice went out (the
   * notice says so), `undone` when its change is no longer pending otherwise (the notice is not
   * sent); undefined for a notice without one.
   */
  private async revertLinkOf(notice: Notice, mint: RevertLinkMinter | undefined): Promise<RevertLink> {
    if (!notice.revert || !mint) return undefined;
    const expired = () => Date.parse(notice.revert!.expiresAt) <= this.clock.now().getTime();
    if (expired()) return 'expired';
    const url = await mint(notice.revert);
    if (url !== undefined) return { url };
    return expired() ? 'expired' : 'undone';
  }

  /**
   * Gives an address's claim back with the notice's marker, so that the record's retry finds it free.
   * A failure is logged: the retry then finds the address served and sends nothing (the notice lost).
   */
  private async releaseAddress(notice: Notice, claimId: string): Promise<void> {
    try {
      await this.sent.releaseForAddress(notice.oncePerDayTo!, notice.mail.kind, claimId);
    } catch (error) {
      this.logger.error(
        `A ${notice.mail.kind} notice's address claim could not be given back (${describeMailError(error)}): its retry will not send it`,
      );
    }
  }

  /** A notice that failed: whether the record is to be retried for it (its marker given back). */
  private async failed(
    userId: string,
    notice: Notice,
    claim: string,
    failure: MailFailure,
    error: unknown,
  ): Promise<boolean> {
    const { kind } = notice.mail;
    const why = describeMailError(error);
    if (failure === 'permanent') {
      this.logger.warn(`A ${kind} notice was refused by the mail server for good (not retried): ${why}`);
      this.metrics.mailDeliveries().inc({ kind, outcome: 'refused' });
      return false;
    }
    this.metrics.mailDeliveries().inc({ kind, outcome: 'failed' });
    let givenBack: boolean;
    try {
      givenBack = await this.sent.release(userId, notice.marker, claim);
    } catch (releaseError) {
      this.logger.error(
        `A ${kind} notice could not be sent (${failure}: ${why}), nor its marker given back (${describeMailError(releaseError)}): lost, not retried`,
      );
      this.metrics.mailDeliveries().inc({ kind, outcome: 'lost' });
      return false;
    }
    // Not given back: the marker was no longer this claim's (given back already, or another
    // worker's claim since, which sends it). The retry finds out which.
    this.logger.warn(
      `A ${kind} notice could not be sent (${failure}, retried${givenBack ? '' : '; its marker was no longer this claim'}): ${why}`,
    );
    return true;
  }
}
