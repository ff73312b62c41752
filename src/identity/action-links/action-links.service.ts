import { createHash, createHmac, type KeyObject, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import { type ItemKey, Keys } from '../../dynamo/keys.js';
import type { TransactionPart } from '../../dynamo/transactions.js';
import type { Item } from '../../dynamo/stream-record.js';
import { MAILER, type Mailer } from '../../mail/mailer.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import { classifyMailError, MailNotSent } from '../../mail/mail-errors.js';
import { describeMailError, renderMail } from '../../mail/templates.js';
import {
  type ActionToken,
  type ActionTokenKind,
  ActionTokensRepository,
  type MailRequest,
  type MailRequestKind,
} from './action-tokens.repository.js';
import { derivedKey } from '../../common/derived-key.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The front end's pages (under PUBLIC_URL) that take the `token` query parameter; see the README. */
const PAGES: Record<ActionTokenKind, string> = {
  password_reset: '/reset-password',
  email_verification: '/verify-email',
  email_change: '/confirm-email-change',
  email_change_revert: '/revert-email-change',
};

/** HKDF label of the key undo links are derived with (from JWT_SECRET, as the other derived keys). */
const REVERT_KEY_LABEL = 'conduit email-change revert link v1';
/** HKDF label of the key a mail request's link is derived with (from its key: a retry mails the same link). */
const REQUEST_KEY_LABEL = 'conduit mail-request link v1';

const REQUEST_KINDS: readonly string[] = [
  'password_reset',
  'email_verification',
  'email_change',
] satisfies MailRequestKind[];

/** Who a link is for, and the state it is bound to. */
export interface LinkRecipient {
  id: string;
  email: string;
  /** Recorded too, for builds before reset generations (absent on accounts that never changed it). */
  passwordGeneration?: number;
  /** The reset generation a reset link is bound to (absent on accounts never reset or taken over). */
  resetGeneration?: number;
  /** The email generation an `email_change` link is bound to (absent = 0; other kinds do not record it). */
  emailGeneration?: number;
}

/** What an undo link's mint needs to know is still there, as a check for the mint's transaction (`onGone` if not). */
export type RevertStillPending = (onGone: () => Error) => TransactionPart;

/** The undo link's change is no longer pending revert (its mint's check failed). */
class RevertGone extends Error {}

/** What a delivery did with a mail request (logged at debug, asserted by tests). */
export type DeliveryOutcome = 'sent' | 'refused' | 'already_sent' | 'already_used' | 'expired' | 'nobody' | 'malformed';

/**
 * Single-use emailed links (password reset, email verification). A request never sees a token:
 * it writes a mail request (`requestLink`); the stream processor, on that item's INSERT, mints
 * the token (derived from the request's key under a key derived from JWT_SECRET), stores only its
 * SHA-256 (marking the request minted in the same transaction), sends the mail and then deletes
 * the request (`deliver`). Neither the token nor the link ever reaches the table, the stream or a
 * log. A failed send is retried with the same link; once the mail is sent, a replay sends nothing;
 * see docs/streams.md.
 */
@Injectable()
export class ActionLinksService {
  private readonly logger = new Logger('ActionLinks');
  private readonly revertKey: KeyObject;
  private readonly requestKey: KeyObject;

  constructor(
    private readonly tokens: ActionTokensRepository,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: AppMetrics,
  ) {
    this.revertKey = derivedKey(config.auth.jwtSecret, REVERT_KEY_LABEL);
    this.requestKey = derivedKey(config.auth.jwtSecret, REQUEST_KEY_LABEL);
  }

  /**
   * Asks the processor for a link mail: one PutItem, the same for a recipient and for nobody
   * (`undefined`: an unknown or ineligible address gets a stand-in the processor drops), so the
   * answer's time and DynamoDB calls do not tell whether a mail goes out.
   */
  async requestLink(kind: MailRequestKind, user: LinkRecipient | undefined): Promise<void> {
    const { key, request } = this.newRequest(kind, user);
    await this.tokens.requestMail(key, request);
  }

  /**
   * The same request as a part of the caller's transaction, so that the change that calls for the
   * link and the link's request commit together or not at all (an email change, review 4, #5).
   */
  linkRequestPart(kind: MailRequestKind, user: LinkRecipient): TransactionPart {
    const { key, request } = this.newRequest(kind, user);
    return this.tokens.mailRequestPart(key, request);
  }

  private newRequest(kind: MailRequestKind, user: LinkRecipient | undefined): { key: ItemKey; request: MailRequest } {
    const now = this.clock.now();
    // Not from ID_GENERATOR: a request id names no entity, and must not shift the ids tests predict.
    const requestId = randomBytes(12).toString('base64url');
    // The stand-in's partition is its own (user ids are 21 characters: no account has this one).
    const userId = user?.id ?? `nobody-${requestId}`;
    const request: MailRequest = {
      kind,
      userId,
      ...(user ? { email: user.email } : {}),
      passwordGeneration: user?.passwordGeneration ?? 0,
      resetGeneration: user?.resetGeneration ?? 0,
      ...(kind === 'email_change' ? { emailGeneration: user?.emailGeneration ?? 0 } : {}),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.config.auth.actionTokenTtlSeconds * 1000).toISOString(),
    };
    return { key: Keys.mailRequest(userId, requestId), request };
  }

  /**
   * The processor's part, on a mail request's INSERT: mints the token (unless the request has
   * expired, or is gone: its mail sent before), then sends the mail and deletes the request.
   * A send that fails is retried like a security notice's (docs/streams.md, "Transactional
   * mail"): a `permanent` refusal is logged, counted (`refused`) and not retried (the request and
   * the unsent token are deleted); any other failure throws `MailNotSent`, which fails the stream
   * record, and the retry mails the same link (the token is derived from the request, and its item
   * minted once). A retry that finds the token used or expired since sends nothing. Logged without
   * the mail's content.
   */
  async deliver(key: ItemKey, image: Item | undefined): Promise<DeliveryOutcome> {
    const request = mailRequestOf(image);
    if (!request) return 'malformed';
    if (!request.email) return 'nobody';
    const now = this.clock.now();
    if (Date.parse(request.expiresAt) <= now.getTime()) return 'expired';
    const token = createHmac('sha256', this.requestKey).update(`${key.PK}\0${key.SK}`).digest('base64url');
    const hash = sha256(token);
    const minted: ActionToken = {
      kind: request.kind,
      userId: request.userId,
      email: request.email,
      passwordGeneration: request.passwordGeneration,
      ...(request.resetGeneration === undefined ? {} : { resetGeneration: request.resetGeneration }),
      ...(request.emailGeneration === undefined ? {} : { emailGeneration: request.emailGeneration }),
      createdAt: request.createdAt,
      expiresAt: request.expiresAt,
    };
    const mint = await this.tokens.mint(hash, minted, key, now);
    if (mint === 'gone') return 'already_sent';
    if (mint === 'minted_before' && !(await this.tokens.find(hash, request.kind, now))) {
      // Used since (its mail reached its reader after all, its send's answer lost): nothing to send.
      await this.settle(request.kind, key);
      return 'already_used';
    }
    const link = `${this.config.publicUrl}${PAGES[request.kind]}?token=${token}`;
    try {
      await this.mailer.send(renderMail({ kind: request.kind, to: request.email, link }));
    } catch (error) {
      const failure = classifyMailError(error);
      const why = describeMailError(error);
      if (failure === 'permanent') {
        this.logger.warn(`A ${request.kind} mail was refused by the mail server for good (not retried): ${why}`);
        this.metrics.mailDeliveries().inc({ kind: request.kind, outcome: 'refused' });
        await this.settle(request.kind, key, hash);
        return 'refused';
      }
      this.logger.warn(`A ${request.kind} mail could not be sent (${failure}, retried): ${why}`);
      this.metrics.mailDeliveries().inc({ kind: request.kind, outcome: 'failed' });
      throw MailNotSent.after(failure, `A ${request.kind} mail (${failure}) was not sent; the record is retried`);
    }
    this.metrics.mailDeliveries().inc({ kind: request.kind, outcome: 'sent' });
    await this.settle(request.kind, key);
    return 'sent';
  }

  /**
   * Deletes a request whose mail went out (or never will), and `unsentToken`'s item with it. A
   * failure is logged, not thrown: failing the record would send the mail again; the request
   * expires by its `ttl`, and only a second delivery before then (a second worker) would resend.
   */
  private async settle(kind: MailRequestKind, key: ItemKey, unsentToken?: string): Promise<void> {
    try {
      await this.tokens.settle(key, unsentToken);
    } catch (error) {
      this.logger.warn(`A ${kind} mail's request could not be deleted (its ttl will): ${describeMailError(error)}`);
    }
  }

  /**
   * Mints an email change's undo link for the notice to the old address (src/users/email-reverts.ts),
   * bound to the user, the address to restore and the email generation the change produced, and
   * living as long as the address's reservation. The token is not random but an HMAC of the user
   * and the generation under a key derived from JWT_SECRET (review 18b L4): a notice whose send
   * failed is retried by the stream, and the retry mints the same link (its conditional Put finds
   * the item there) rather than a second one. A generation is never used twice by one account, so
   * no two changes share a token; the revert ends the reservation the link is bound to.
   *
   * The token's Put goes in one transaction with `stillPending` (session 20): a link that could not
   * be used (its change reverted, undone by an earlier change's link, the account erased, the
   * reservation lapsed) is not minted, and undefined is returned: no token item outlives the account
   * or names an address its erasure released, and no notice mails a link that cannot work.
   */
  async mintRevertLink(
    revert: { userId: string; email: string; emailGeneration: number; expiresAt: string },
    stillPending: RevertStillPending,
  ): Promise<string | undefined> {
    const token = createHmac('sha256', this.revertKey)
      .update(`${revert.userId}\0${revert.emailGeneration}`)
      .digest('base64url');
    try {
      await this.tokens.putOnce(
        sha256(token),
        {
          kind: 'email_change_revert',
          userId: revert.userId,
          email: revert.email,
          passwordGeneration: 0,
          emailGeneration: revert.emailGeneration,
          createdAt: this.clock.now().toISOString(),
          expiresAt: revert.expiresAt,
        },
        stillPending(() => new RevertGone()),
      );
    } catch (error) {
      if (error instanceof RevertGone) return undefined;
      throw error;
    }
    return `${this.config.publicUrl}${PAGES.email_change_revert}?token=${token}`;
  }

  /** Uses up a token: what it held, or undefined when it is unknown, used, expired or of another kind. */
  consume(token: string, kind: ActionTokenKind): Promise<ActionToken | undefined> {
    return this.tokens.consume(sha256(token), kind, this.clock.now());
  }

  /** What a usable token holds, without using it up (it is used up by `consumePart` in the write it allows). */
  peek(token: string, kind: ActionTokenKind): Promise<ActionToken | undefined> {
    return this.tokens.find(sha256(token), kind, this.clock.now());
  }

  /** The token's use, as a part of the transaction it allows: `onUsed` when it is no longer usable. */
  consumePart(token: string, kind: ActionTokenKind, onUsed: () => Error): TransactionPart {
    return this.tokens.consumePart(sha256(token), kind, this.clock.now(), onUsed);
  }
}

/** A mail request from a stream image, or undefined when the image is not one. */
function mailRequestOf(image: Item | undefined): MailRequest | undefined {
  if (!image || typeof image.kind !== 'string' || !REQUEST_KINDS.includes(image.kind)) return undefined;
  if (typeof image.userId !== 'string' || typeof image.expiresAt !== 'string' || typeof image.createdAt !== 'string')
    return undefined;
  return {
    kind: image.kind as MailRequestKind,
    userId: image.userId,
    ...(typeof image.email === 'string' ? { email: image.email } : {}),
    passwordGeneration: Number(image.passwordGeneration ?? 0),
    ...(image.resetGeneration === undefined ? {} : { resetGeneration: Number(image.resetGeneration) }),
    ...(image.emailGeneration === undefined ? {} : { emailGeneration: Number(image.emailGeneration) }),
    createdAt: image.createdAt,
    expiresAt: image.expiresAt,
  };
}
