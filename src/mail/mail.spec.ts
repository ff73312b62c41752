import type { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SesMailer, type SesSender } from './ses.mailer.js';
import { renderMail } from './templates.js';

describe('mail templates', () => {
  it('renders a link mail as text and HTML with the link in both, escaped in HTML', () => {
    const link = 'https://app.example.com/reset-password?token=abc_DEF-123&x=<y>';
    const mail = renderMail({ kind: 'password_reset', to: 'ada@example.com', link });
    expect(mail).toMatchObject({ kind: 'password_reset', to: 'ada@example.com', subject: 'Reset your password', link });
    expect(mail.text).toContain(`\n\n${link}\n\n`);
    expect(mail.html).toContain('href="https://app.example.com/reset-password?token=abc_DEF-123&amp;x=&lt;y&gt;"');
    expect(mail.html).not.toContain('<y>');
  });

  it('renders notices without any link', () => {
    const changed = renderMail({ kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' });
    expect(changed.text).toContain('changed to new@example.com');
    expect(changed.link).toBeUndefined();
    expect(renderMail({ kind: 'password_changed', to: 'a@example.com' }).html).not.toContain('href');
  });
});

describe('SesMailer', () => {
  it('sends one SendEmail (API v2) with the sender, the recipient, text and HTML', async () => {
    const sent: SendEmailCommand[] = [];
    const client: SesSender = {
      send: (command: SendEmailCommand) => (sent.push(command), Promise.resolve({})),
    } as never;
    const mail = renderMail({
      kind: 'email_verification',
      to: 'ada@example.com',
      link: 'https://a.example/verify-email?token=t',
    });
    await new SesMailer(client, 'Publishing <no-reply@example.com>').send(mail);
    expect(sent).toHaveLength(1);
    expect(sent[0].input).toEqual({
      FromEmailAddress: 'Publishing <no-reply@example.com>',
      Destination: { ToAddresses: ['ada@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Confirm your email address', Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
      EmailTags: [{ Name: 'kind', Value: 'email_verification' }],
    });
  });
});
