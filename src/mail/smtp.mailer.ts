import { createTransport, type Transporter } from 'nodemailer';
import type { Mailer, MailMessage } from './mailer.js';

/** Delivers through an SMTP server (`SMTP_URL`, e.g. Mailpit's `smtp://127.0.0.1:1025` or a relay). */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    // Short timeouts: mails are sent after the answer, but a dead relay must not pile up sockets.
    const parsed = new URL(url);
    this.transport = createTransport({
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 587,
      secure: parsed.protocol === 'smtps:',
      ...(parsed.username
        ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } }
        : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      // nodemailer logs nothing unless asked; keep it so (its debug output would quote the mail).
      logger: false,
    });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      headers: { 'X-Mail-Kind': message.kind },
    });
  }

  close(): void {
    this.transport.close();
  }
}
