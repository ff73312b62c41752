/** Injection token of the `Mailer`. */
export const MAILER = Symbol('MAILER');

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** Machine-readable kind, so tests and templates can tell messages apart. */
  kind: 'password_reset' | 'email_verification';
  /** The link the recipient follows. */
  link: string;
}

/** Sends transactional mail. Replace the default with an SES/SMTP implementation in production. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
