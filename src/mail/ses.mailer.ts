import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Mailer, MailMessage } from './mailer.js';

/** The part of the SES v2 client the mailer uses (a unit spec passes a fake). */
export type SesSender = Pick<SESv2Client, 'send'>;

/**
 * Delivers through Amazon SES (API v2, `ses:SendEmail`), with credentials from the default
 * provider chain and the app's `AWS_REGION`. The sender must be a verified identity.
 */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SesSender,
    private readonly from: string,
  ) {}

  static create(region: string, from: string): SesMailer {
    return new SesMailer(new SESv2Client({ region }), from);
  }

  async send(message: MailMessage): Promise<void> {
    await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [message.to] },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
          },
        },
        EmailTags: [{ Name: 'kind', Value: message.kind }],
      }),
    );
  }

  close(): void {
    (this.client as { destroy?: () => void }).destroy?.();
  }
}
