/** Injection token of the `Mailer`. */
export const MAILER = Symbol('MAILER');

/** Machine-readable kind, so tests and templates can tell messages apart. */
export type MailKind =
  | 'password_reset'
  | 'email_verification'
  | 'email_change'
  | 'password_changed'
  | 'email_changed'
  | 'email_change_undone'
  | 'email_moved_back'
  | 'account_deactivated';

/** A rendered mail (see `templates.ts`), ready for a transport. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  kind: MailKind;
  /** The link the recipient follows, when the mail has one (it carries a token: never log it). */
  link?: string;
}

/** Sends transactional mail. `MAIL_TRANSPORT` chooses the implementation (see `mail.module.ts`). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
