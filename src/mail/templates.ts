import type { MailKind, MailMessage } from './mailer.js';

/**
 * What a template needs: the recipient, and the link or the new address depending on the kind.
 * `recoverUrl` is the front end's "forgot password" page (`{PUBLIC_URL}/forgot-password`, no token
 * in it: the reset request mails its own link), where a notice tells the reader to go if the change
 * was not theirs.
 */
/**
 * Why a password changed: `change` (with the current password, from a session), `reset` (a link
 * mailed to this address), `takeover` (the admin bootstrap gave the account of ADMIN_EMAIL the
 * operator's password). A reset and a takeover end every session; a change spares the changer's.
 */
export type PasswordChangeCause = 'change' | 'reset' | 'takeover';

export type MailRequest =
  | { kind: 'password_reset' | 'email_verification' | 'email_change'; to: string; link: string }
  /** `cause`: what set the password, which the wording follows (`PasswordChangeCause`). */
  | { kind: 'password_changed'; to: string; cause: PasswordChangeCause; recoverUrl: string }
  /**
   * `link`: the change's undo link (absent when it could not be minted, or on a change from before
   * undo links). `linkExpired`: the link had lapsed when the notice went out (a record handled
   * late, a dead letter replayed), so the notice says so instead of carrying a link that cannot work.
   */
  | { kind: 'email_changed'; to: string; newEmail?: string; link?: string; linkExpired?: boolean }
  /**
   * To the restored address, after an email change's undo link was used. Names no other address.
   * `passwordDisabled`: the revert replaced the password (not for an account whose erasure is pending).
   */
  | { kind: 'email_change_undone'; to: string; passwordDisabled: boolean; recoverUrl: string }
  /**
   * To the address an email change's undo link took the account away from (review 20b L5): no link,
   * no other address; it can undo nothing, and tells an owner whose old mailbox was used.
   */
  | { kind: 'email_moved_back'; to: string }
  /**
   * To the account's address when its owner deactivated it (`DELETE /users/me`, review 22a M1): a
   * password reset by mail (`recoverUrl`) makes the account active again.
   */
  | { kind: 'account_deactivated'; to: string; recoverUrl: string };

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface Template {
  subject: string;
  /** Paragraphs of plain text; the link, when there is one, follows them on a line of its own. */
  paragraphs: string[];
  /** Label of the HTML button for the link. */
  action?: string;
  /** A last paragraph ending with a plain link to a page (no token), such as "forgot password". */
  recover?: { text: string; url: string };
}

const IGNORE = 'If you did not ask for this, you can ignore this message.';
/**
 * An email change's notice without a usable undo link goes to the address the account left: a
 * reset asked for with it reaches nobody (the account is at the new address, and a reserved
 * address resolves to no account), so it does not advise one.
 */
const NOT_YOU_MOVED =
  'If this was not you, contact support at once: the account no longer uses this address, so a password ' +
  'reset asked for with it would not reach you.';

function passwordChangedTemplate(cause: PasswordChangeCause, recoverUrl: string): Template {
  switch (cause) {
    case 'takeover':
      // Sent to ADMIN_EMAIL, read by the operator who set it (expected), or by whoever registered that
      // address if the operator mistyped it: nothing here is theirs to reset (a reset by mail would
      // give them the administrator's account), so it says what happened and whom to ask.
      return {
        subject: 'An administrator set a new password for your account',
        paragraphs: [
          'An administrator set a new password for your account and took it over: this address is the one the ' +
            "service was started with for its administrator, so the account became the administrator's, its " +
            'address was marked verified, and every device was signed out.',
          'If you run the service, this was expected: sign in with the administrator password you configured. ' +
            "If not, contact support: the service's operator gave its administrator this address.",
        ],
      };
    case 'reset':
      return {
        subject: 'Your password was reset',
        paragraphs: [
          'The password of your account was just reset, and every device was signed out.',
          // The reset link was mailed here: whoever used it reads this mailbox, and the next link
          // asked for goes to them too, so the mailbox comes first.
          'If you did not reset it yourself, someone who can read this mailbox may have: secure the mailbox ' +
            'first (change its password), then choose a new password for your account.',
        ],
        recover: {
          text: 'Choose it with "Forgot password", which mails a reset link to this address, then contact support:',
          url: recoverUrl,
        },
      };
    case 'change':
      return {
        subject: 'Your password was changed',
        paragraphs: ['The password of your account was just changed, and your other devices were signed out.'],
        recover: {
          text:
            'If this was not you, someone else knows your password: choose a new one at once with "Forgot password", ' +
            'which mails a reset link to this address, then contact support:',
          url: recoverUrl,
        },
      };
  }
}

function templateOf(request: MailRequest): Template {
  switch (request.kind) {
    case 'password_reset':
      return {
        subject: 'Reset your password',
        paragraphs: [
          'Someone asked to reset the password of your account. Follow this link to choose a new one.',
          IGNORE,
        ],
        action: 'Choose a new password',
      };
    case 'email_verification':
      return {
        subject: 'Confirm your email address',
        paragraphs: ['Follow this link to confirm that this address belongs to your account.', IGNORE],
        action: 'Confirm my address',
      };
    case 'email_change':
      // To the new address of a requested email change (review 22a M3): the account moves only when
      // the link is used, so an address nobody proved never becomes an account's.
      return {
        subject: 'Confirm your new email address',
        paragraphs: [
          'Someone asked to move their account to this address. Follow this link to confirm it: the account ' +
            'moves here only then, and keeps its current address until you do.',
          IGNORE,
        ],
        action: 'Confirm the new address',
      };
    case 'password_changed':
      return passwordChangedTemplate(request.cause, request.recoverUrl);
    case 'email_change_undone':
      return {
        subject: 'The change of your account email was undone',
        paragraphs: [
          request.passwordDisabled
            ? 'The undo link mailed to this address was used: your account is back at this address (verified), ' +
              'every device was signed out and the password was disabled.'
            : 'The undo link mailed to this address was used: your account is back at this address (verified) and ' +
              'every device was signed out. The password was kept, since the account is being erased.',
          'If you did not use the link yourself, someone who can read this mailbox did: secure the mailbox first ' +
            '(change its password), then choose a new password for your account.',
        ],
        recover: {
          text: 'To sign in again, choose a new password with "Forgot password", which mails a reset link to this address:',
          url: request.recoverUrl,
        },
      };
    case 'email_moved_back':
      return {
        subject: 'Your account email was moved back',
        paragraphs: [
          "This account's email was moved back to another address by the undo link mailed there: the account " +
            'no longer uses this address, and every device was signed out.',
          'If that was not expected, contact support: a password reset asked for with this address would not ' +
            'reach the account.',
        ],
      };
    case 'account_deactivated':
      return {
        subject: 'Your account was deactivated',
        paragraphs: [
          'Your account was just deactivated from one of its signed-in devices: every device was signed out, and ' +
            'signing in is refused until the account is active again.',
          'If this was you, you can ignore this message. If it was not, someone else used your account: reset ' +
            'your password to get it back; the reset makes the account active again, and signs out every device.',
        ],
        recover: {
          text: 'Reset it with "Forgot password", which mails a reset link to this address:',
          url: request.recoverUrl,
        },
      };
    case 'email_changed':
      if (request.newEmail === undefined)
        // The old address was never verified (review 22a L7): it may be a stranger's, so the notice
        // names no address (whoever moved the account chose it) and says how to tell the two cases.
        return {
          subject: 'Your account email was changed',
          paragraphs: [
            'An account registered with this address, which was never confirmed for it, was just moved to another ' +
              'email address. If you never registered it, you can ignore this message.',
            NOT_YOU_MOVED,
          ],
        };
      if (request.linkExpired)
        return {
          subject: 'Your account email was changed',
          paragraphs: [
            `The email address of your account was changed to ${request.newEmail}. This notice could not be sent ` +
              'in time: the link to undo the change from this address has expired, so it is not included.',
            NOT_YOU_MOVED,
          ],
        };
      return request.link
        ? {
            subject: 'Your account email was changed',
            paragraphs: [
              `The email address of your account was just changed to ${request.newEmail}. If this was not you, ` +
                'follow this link: it moves the account back to this address, signs every device out and ' +
                'disables the password. Then choose a new password with "Forgot password", which mails this address.',
              'If you made the change yourself, you can ignore this message.',
            ],
            action: 'This was not me: undo the change',
          }
        : {
            subject: 'Your account email was changed',
            paragraphs: [`The email address of your account was just changed to ${request.newEmail}.`, NOT_YOU_MOVED],
          };
  }
}

/** Renders a mail as text and HTML with the same wording; values are escaped in the HTML part. */
export function renderMail(request: MailRequest): MailMessage {
  const template = templateOf(request);
  const link = 'link' in request ? request.link : undefined;
  const { recover } = template;
  const text = [
    ...template.paragraphs.slice(0, 1),
    ...(link ? [link] : []),
    ...template.paragraphs.slice(1),
    ...(recover ? [`${recover.text}\n${recover.url}`] : []),
  ].join('\n\n');
  const paragraphs = [
    ...template.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(recover
      ? [`<p>${escapeHtml(recover.text)} <a href="${escapeHtml(recover.url)}">${escapeHtml(recover.url)}</a></p>`]
      : []),
  ];
  const button = link
    ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:10px 16px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(template.action ?? link)}</a></p>` +
      `<p style="font-size:12px;color:#555">Or paste this address into your browser: ${escapeHtml(link)}</p>`
    : '';
  const html =
    `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">` +
    `${paragraphs[0]}${button}${paragraphs.slice(1).join('')}</body></html>`;
  const kind: MailKind = request.kind;
  return { kind, to: request.to, subject: template.subject, text: `${text}\n`, html, ...(link ? { link } : {}) };
}

/** An error's name and code only: a mail transport's message may quote the mail, link included. */
export const describeMailError = (error: unknown): string =>
  error instanceof Error ? `${error.name}${'code' in error ? ` (${String(error.code)})` : ''}` : typeof error;
